// cogcast web page: submits the form, then shows each clip as its job events arrive over Server-Sent Events
// (no polling). Plain DOM, textContent only: nothing a user typed is ever parsed as HTML.
'use strict';

(() => {
  const texts = JSON.parse(document.getElementById('texts').textContent);
  const form = document.getElementById('make');
  const message = document.getElementById('message');
  const list = document.getElementById('clips');
  const none = document.getElementById('none');
  const live = document.getElementById('live');
  const csrf = form.elements.namedItem('csrf').value;
  const cards = new Map();

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle('error', Boolean(isError));
  }

  async function post(url, body, picture) {
    try {
      // With a picture the form goes as multipart (the browser sets its boundary); else as JSON.
      let payload = JSON.stringify({ ...body, csrf });
      const headers = { accept: 'application/json', 'x-csrf-token': csrf };
      if (picture) {
        payload = new FormData();
        for (const [name, value] of Object.entries({ ...body, csrf })) payload.append(name, value);
        payload.append('image', picture);
      } else {
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(url, { method: 'POST', headers, body: payload, credentials: 'same-origin' });
      const answer = await res.json();
      if (answer.view) show(answer.view);
      return answer;
    } catch {
      return { ok: false, text: texts.internal };
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {};
    for (const name of ['prompt', 'preset', 'seed', 'negativePrompt']) {
      const value = data.get(name);
      if (typeof value === 'string' && value !== '') body[name] = value;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    const picture = data.get('image');
    const answer = await post('/api/videos', body, picture instanceof File && picture.size > 0 ? picture : null);
    button.disabled = false;
    say(answer.text, !answer.ok);
  });

  function el(tag, className) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  function card(jobId) {
    let c = cards.get(jobId);
    if (c) return c;
    const item = el('li', 'clip');
    item.dataset.jobId = jobId;
    item.dataset.updates = '0';
    const prompt = el('p', 'prompt');
    const meta = el('p', 'meta');
    const status = el('p', 'status');
    status.setAttribute('aria-live', 'polite');
    const progress = el('progress');
    progress.hidden = true;
    const video = el('video');
    video.controls = true;
    video.playsInline = true;
    video.preload = 'metadata';
    video.hidden = true;
    const stats = el('pre', 'stats');
    stats.hidden = true;
    const demo = el('p', 'demo');
    demo.textContent = texts.demo;
    demo.hidden = true;
    const error = el('p', 'error');
    error.hidden = true;
    const actions = el('div', 'actions');
    const cancel = el('button', 'cancel');
    cancel.type = 'button';
    cancel.textContent = texts.cancel;
    const reroll = el('button', 'reroll');
    reroll.type = 'button';
    reroll.textContent = texts.reroll;
    const answer = el('p', 'answer');
    answer.setAttribute('role', 'status');
    cancel.addEventListener('click', async () => {
      const a = await post(`/api/videos/${encodeURIComponent(jobId)}/cancel`, {});
      // Success shows in the status line (pushed); only a refusal needs words here.
      answer.textContent = a.ok ? '' : a.text;
    });
    reroll.addEventListener('click', async () => {
      const a = await post(`/api/videos/${encodeURIComponent(jobId)}/reroll`, {});
      answer.textContent = a.ok ? '' : a.text;
      say(a.text, !a.ok);
    });
    actions.append(cancel, reroll);
    item.append(prompt, meta, status, progress, video, stats, demo, error, actions, answer);
    c = { item, prompt, meta, status, progress, video, stats, demo, error, cancel, reroll, createdAt: 0 };
    cards.set(jobId, c);
    return c;
  }

  function place(c, createdAt) {
    c.createdAt = createdAt;
    // Newest first: before the first card that is older.
    const older = [...list.children].find((li) => li !== c.item && (cards.get(li.dataset.jobId)?.createdAt ?? 0) < createdAt);
    list.insertBefore(c.item, older ?? null);
    none.hidden = true;
  }

  function show(v) {
    const c = card(v.jobId);
    if (c.item.parentNode !== list) place(c, v.createdAt);
    c.item.dataset.state = v.state;
    c.item.dataset.updates = String(Number(c.item.dataset.updates) + 1);
    c.prompt.textContent = v.prompt;
    c.meta.textContent = `${v.preset} · ${texts.seedLine.replace('{seed}', String(v.seed))}`;
    c.status.textContent = v.eta ? `${v.status} · ${v.eta}` : v.status;
    const showProgress = v.state === 'running' && v.steps;
    c.progress.hidden = !showProgress;
    if (showProgress) {
      c.progress.max = v.steps;
      c.progress.value = v.step ?? 0;
      c.progress.textContent = `${v.step ?? 0}/${v.steps}`;
    }
    if (v.videoUrl && c.video.getAttribute('src') !== v.videoUrl) c.video.src = v.videoUrl;
    c.video.hidden = !v.videoUrl;
    c.stats.textContent = v.stats ?? '';
    c.stats.hidden = !v.stats;
    c.demo.hidden = !v.demoModel;
    c.error.textContent = v.error ?? '';
    c.error.hidden = !v.error;
    c.cancel.hidden = !v.canCancel;
    c.reroll.hidden = !v.canReroll;
  }

  const events = new EventSource('/api/events');
  events.addEventListener('snapshot', (e) => {
    for (const v of JSON.parse(e.data)) show(v);
    none.hidden = cards.size > 0;
  });
  events.addEventListener('job', (e) => show(JSON.parse(e.data)));
  events.addEventListener('open', () => {
    live.textContent = '';
  });
  events.addEventListener('error', () => {
    live.textContent = texts.liveLost;
  });
})();
