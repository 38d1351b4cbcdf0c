// README's `npm start` on a fresh clone with no .env, no tokens, no network and no Redis at the default address:
// it starts its own Redis, builds the demo model, serves the web page; a person makes a clip in real Chromium
// (position, pushed progress, a playable MP4 with stats and the demo banner), cancels another, and bad input or
// another browser's hand changes nothing. Screenshots land in var/screenshots for a person to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadPresets } from '../../config/presets.ts';
import { text } from '../../src/core/texts.ts';
import { type FreshClone, freePort, freshClone, type RunningCommand, runNpm } from '../helpers/fresh-clone.ts';
import { REPO_ROOT } from '../helpers/test-config.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'var', 'screenshots');
const DEMO_PRESETS = loadPresets(join(REPO_ROOT, 'config/presets.demo.json'));
const STANDARD = DEMO_PRESETS.byName.get('standard')!;

/** What a new user's shell has: no tokens, no REDIS_URL, no ENGINE_MODEL; only the ports moved off the defaults. */
function freshEnv(home: string, ports: { redis: number; web: number }, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    // Nothing at the default Redis address: the test's own free port stands in for 6379.
    REDIS_LOCAL_PORT: String(ports.redis),
    WEB_PORT: String(ports.web),
    METRICS_PORT: '0',
    // No network and no GPU: the hub is unreachable, CUDA hidden.
    HF_HUB_OFFLINE: '1',
    HF_ENDPOINT: 'http://127.0.0.1:9',
    CUDA_VISIBLE_DEVICES: '',
    // The clone borrows this checkout's .venv (a link): setup must not rebuild it.
    COGCAST_SKIP_PYTHON: '1',
    ...extra,
  };
}

describe('first run: npm start on a fresh clone', { timeout: 300_000 }, () => {
  let clone: FreshClone;
  let product: RunningCommand | null = null;
  let redisPort: number;
  let webPort: number;
  let url: string;
  let queue: Queue;
  let redis: Redis;
  let browser: Browser | null = null;

  before(async () => {
    clone = freshClone();
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    if (product && product.child.exitCode === null) {
      product.child.kill('SIGKILL');
      await product.exited;
    }
    await queue?.close().catch(() => undefined);
    redis?.disconnect();
    // The embedded Redis of a run that failed half-way (the product was killed): shut it down, it is this test's.
    if (redisPort && (await answers(redisPort))) {
      const leftover = new Redis(redisPort, { retryStrategy: () => null });
      leftover.on('error', () => undefined);
      await leftover.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
      leftover.disconnect();
    }
    clone?.cleanup();
  });

  test('ENGINE_MODEL naming a missing directory: exit non-zero within 10 s, one paragraph, no traceback', async () => {
    const ports = { redis: await freePort(), web: await freePort() };
    const missing = join(clone.dir, 'models', 'no-such-model');
    const run = runNpm(clone.dir, ['start'], freshEnv(join(clone.dir, 'var', 'home'), ports, { ENGINE_MODEL: missing }));
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 10_000);
    const { code, signal } = await run.exited;
    clearTimeout(killer);
    const { stderr } = run.output();
    assert.equal(signal, null, `killed after 10 s: still running\n${stderr}`);
    assert.notEqual(code, 0);
    const ours = stderr.split('\n').filter((line) => line.startsWith('cogcast:'));
    assert.equal(ours.length, 1, stderr);
    assert.match(ours[0]!, new RegExp(`^cogcast: cannot start: ENGINE_MODEL=${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such directory .*Fix: `));
    assert.doesNotMatch(stderr, /Traceback|^\s+at /m);
    // Nothing was started on its way out: no Redis at the port it would have used.
    assert.equal(await answers(ports.redis), false);
  });

  test("an operator's REDIS_URL that does not answer: one line naming it, password hidden, exit 1", async () => {
    const ports = { redis: await freePort(), web: await freePort() };
    const run = runNpm(clone.dir, ['start'], freshEnv(join(clone.dir, 'var', 'home'), ports, { REDIS_URL: `redis://cogcast:hunter2-secret@127.0.0.1:${ports.redis}` }));
    const { code } = await run.exited;
    const { stderr } = run.output();
    assert.equal(code, 1);
    const ours = stderr.split('\n').filter((line) => line.startsWith('cogcast:'));
    assert.deepEqual(ours, [`cogcast: cannot start: cannot reach Redis at redis://cogcast:***@127.0.0.1:${ports.redis} (REDIS_URL): connection refused. Start Redis there, fix REDIS_URL, or unset it to let npm start run a local one.`]);
    assert.ok(!stderr.includes('hunter2-secret'));
    assert.doesNotMatch(stderr, /^\s+at /m);
    assert.equal(await answers(ports.redis), false, 'no local Redis for an operator URL');
  });

  test('comes up on embedded defaults and says what it runs', async () => {
    redisPort = await freePort();
    webPort = await freePort();
    assert.equal(await answers(redisPort), false, 'the default address must be free for this test');
    product = runNpm(clone.dir, ['start'], freshEnv(join(clone.dir, 'var', 'home'), { redis: redisPort, web: webPort }));
    const web = await product.waitFor(/^ {2}web +(http:\/\/127\.0\.0\.1:\d+\/)/m, 120_000);
    url = web[1]!;
    const { stdout } = product.output();
    assert.match(stdout, new RegExp(`redis +redis://127\\.0\\.0\\.1:${redisPort} \\(local redis-server started by npm start`));
    assert.match(stdout, /model +\S+demo-model \(no CUDA GPU on this host\)/);
    assert.match(stdout, new RegExp(`⚠ ${text('demo_model')}`));
    assert.match(stdout, /telegram +off: set TELEGRAM_BOT_TOKEN/);
    assert.match(stdout, /discord +off: set DISCORD_TOKEN/);
    assert.ok(existsSync(join(clone.dir, 'var', 'demo-model', 'model_index.json')), 'demo model built under var/');
    assert.ok(existsSync(join(clone.dir, 'var', 'redis', `port-${redisPort}`, 'appendonlydir')), 'AOF under var/redis');
    redis = new Redis(redisPort, { maxRetriesPerRequest: null });
    const config = await redis.config('GET', 'maxmemory-policy');
    assert.deepEqual(config, ['maxmemory-policy', 'noeviction']);
    assert.deepEqual(await redis.config('GET', 'appendonly'), ['appendonly', 'yes']);
    queue = new Queue('cogcast-video', { connection: redis });
    // Held while both browsers line up, so places in the queue are deterministic; resumed below.
    await queue.pause();
  });

  test('in Chromium: bad input is refused with chat\'s messages, a clip is made live, another cancelled', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      ctx.skip(`${CHROMIUM} is absent (Debian: apt-get install chromium)`);
      return;
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const alice = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const bob = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const a = await openPage(alice, url);
    const b = await openPage(bob, url);
    const polls: string[] = [];
    a.page.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname.startsWith('/api/') && !r.url().endsWith('/api/events')) polls.push(r.url());
    });

    // 1. The demo banner, the presets of the demo model.
    assert.equal(await a.page.locator('#demo-banner').innerText(), `⚠ ${text('demo_model')}`);
    assert.deepEqual(await a.page.locator('#preset option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), DEMO_PRESETS.names);

    // 2. Bad input: the same texts as chat, and nothing queued.
    const submit = async (page: Page, prompt: string) => {
      await page.fill('#prompt', prompt);
      await page.click('button[type=submit]');
    };
    await submit(a.page, '');
    await expectMessage(a.page, text('prompt_empty'));
    await submit(a.page, 'x'.repeat(10_000));
    await expectMessage(a.page, text('prompt_too_long', { length: 10_000, max: 500 }));
    const forged = async (page: Page, body: Record<string, unknown>, withToken = true) =>
      page.evaluate(
        async ({ body, withToken }) => {
          const csrf = (document.querySelector('input[name=csrf]') as HTMLInputElement).value;
          const res = await fetch('/api/videos', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(withToken ? { ...body, csrf } : body) });
          return { status: res.status, body: (await res.json()) as { ok: boolean; text: string } };
        },
        { body, withToken },
      );
    const unknownPreset = await forged(a.page, { prompt: 'a red fox', preset: 'ultra' });
    assert.deepEqual(unknownPreset, { status: 400, body: { ok: false, kind: 'error', text: text('unknown_preset', { preset: 'ultra', choices: DEMO_PRESETS.names.join(', ') }) } });
    const extraField = await forged(a.page, { prompt: 'a red fox', steps: 500 });
    assert.deepEqual(extraField.body, { ok: false, kind: 'error', text: text('bad_option', { option: 'steps' }) });
    const notText = await forged(a.page, { prompt: ['a', 'b'] });
    assert.deepEqual(notText.body, { ok: false, kind: 'error', text: text('bad_option', { option: 'prompt' }) });
    const noToken = await forged(a.page, { prompt: 'a red fox' }, false);
    assert.deepEqual(noToken, { status: 403, body: { ok: false, kind: 'error', text: text('web.forged') } });
    // A form on another site posting here: the cookie stays home (SameSite=Strict) and there is no token.
    const evil = await alice.newPage();
    await evil.setContent(`<form method="post" action="${url}api/videos"><input name="prompt" value="forged"><input name="csrf" value="guess"></form>`);
    const [crossSite] = await Promise.all([evil.waitForNavigation(), evil.evaluate(() => (document.querySelector('form') as HTMLFormElement).submit())]);
    assert.equal(crossSite?.status(), 403);
    assert.match(await evil.locator('body').innerText(), new RegExp(text('web.forged').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await evil.close();
    assert.deepEqual(await jobCounts(queue), { total: 0 }, 'bad input queued nothing');
    assert.equal(await a.page.locator('li.clip').count(), 0);
    await a.page.screenshot({ path: join(SHOTS, 'first-run-1-refused.png'), fullPage: true });

    // 3. Alice queues two clips, Bob one: each sees the place in line.
    await submit(a.page, 'a red fox running through snow');
    await expectMessage(a.page, /^Queued: #1 in line, ready in about .+\nstandard · seed \d+$/);
    await a.page.fill('#seed', '42');
    await submit(a.page, 'a paper boat on a river');
    await expectMessage(a.page, /^Queued: #2 in line/);
    // Each browser is a user, so chat's quota holds: a third clip waits for one of the two (QUOTA_MAX_PENDING_PER_USER=2).
    await submit(a.page, 'a third one');
    await expectMessage(a.page, text('quota_pending', { count: 2, max: 2 }));
    assert.equal(await a.page.locator('li.clip').count(), 2);
    // Fair share: Bob's first clip goes ahead of Alice's second, whose place is pushed to her page (#2 -> #3).
    await submit(b.page, 'a lighthouse at night');
    await expectMessage(b.page, /^Queued: #2 in line/);
    const [secondId, firstId] = await a.page.locator('li.clip').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.jobId!));
    assert.ok(firstId && secondId);
    const bobId = await b.page.locator('li.clip').first().getAttribute('data-job-id');
    assert.ok(bobId);
    await expectStatus(a.page, firstId, text('status.queued_position', { position: 1 }));
    await expectStatus(a.page, secondId, text('status.queued_position', { position: 3 }));
    await expectStatus(b.page, bobId, text('status.queued_position', { position: 2 }));
    await b.page.screenshot({ path: join(SHOTS, 'first-run-2-queued.png'), fullPage: true });

    // 4. Bob cannot cancel Alice's clip (the page's own request, with Bob's cookie and token).
    const bobTries = await b.page.evaluate(async (jobId) => {
      const csrf = (document.querySelector('input[name=csrf]') as HTMLInputElement).value;
      const res = await fetch(`/api/videos/${jobId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ csrf }) });
      return { status: res.status, body: (await res.json()) as unknown };
    }, firstId);
    assert.deepEqual(bobTries, { status: 400, body: { ok: false, kind: 'error', text: text('not_your_job') } });
    assert.equal(await (await queue.getJob(firstId))?.getState(), 'waiting');
    const bobsClip = await a.page.evaluate(async (jobId) => (await fetch(`/clips/${jobId}.mp4`)).status, bobId);
    assert.equal(bobsClip, 404, "Alice cannot fetch Bob's clip");

    // 5. Bob no longer waits for his: he cancels it with its button, it says so, and Alice's second clip moves up
    //    (pushed to her page); she cancels that one too, so the worker has only her first clip to make.
    const aliceUpdates = Number(await a.page.locator(`li[data-job-id="${secondId}"]`).getAttribute('data-updates'));
    await b.page.locator(`li[data-job-id="${bobId}"] button.cancel`).click();
    await expectStatus(b.page, bobId, text('status.cancelled'));
    assert.equal(await queue.getJob(bobId), undefined, 'the cancelled job left the queue');
    await expectStatus(a.page, secondId, text('status.queued_position', { position: 2 }));
    assert.ok(Number(await a.page.locator(`li[data-job-id="${secondId}"]`).getAttribute('data-updates')) > aliceUpdates);
    await a.page.locator(`li[data-job-id="${secondId}"] button.cancel`).click();
    await expectStatus(a.page, secondId, text('status.cancelled'));

    // 6. The worker takes Alice's clip: progress arrives step by step, then the MP4 with its stats.
    await product!.waitFor(/engine +ready in \d+ s/, 120_000);
    await queue.resume();
    const firstCard = a.page.locator(`li[data-job-id="${firstId}"]`);
    await firstCard.locator('.status', { hasText: /Generating · step \d+\/\d+/ }).waitFor({ timeout: 120_000 });
    await a.page.screenshot({ path: join(SHOTS, 'first-run-3-generating.png'), fullPage: true });
    await expectState(a.page, firstId, 'done', 180_000);
    const duration = await firstCard.locator('video').evaluate(
      (video: HTMLVideoElement) =>
        new Promise<number>((resolve, reject) => {
          if (video.readyState >= 1) return resolve(video.duration);
          video.addEventListener('loadedmetadata', () => resolve(video.duration), { once: true });
          video.addEventListener('error', () => reject(new Error(`video error ${video.error?.code}: ${video.error?.message}`)), { once: true });
        }),
    );
    assert.ok(Math.abs(duration - STANDARD.frames / STANDARD.fps) < 1 / STANDARD.fps, `duration ${duration} s, preset ${STANDARD.frames}/${STANDARD.fps}`);
    const stats = await firstCard.locator('.stats').innerText();
    assert.match(stats, new RegExp(`^standard · ${STANDARD.width}x${STANDARD.height} · ${STANDARD.frames} frames @ ${STANDARD.fps} fps · ${STANDARD.steps} steps · seed \\d+`));
    assert.match(stats, /denoise [\d.]+ s .*\n.*VAE [\d.]+ s · MP4 [\d.]+ s/);
    assert.match(stats, /end to end [\d.]+ s/);
    assert.equal(await firstCard.locator('.demo').isVisible(), true);
    assert.equal(await firstCard.locator('.demo').innerText(), text('demo_model'));
    assert.equal(await firstCard.locator('button.reroll').isVisible(), true);
    assert.equal(await firstCard.locator('button.cancel').isVisible(), false);
    // Updates came pushed: the page never asked for them.
    assert.deepEqual(polls, []);
    await a.page.screenshot({ path: join(SHOTS, 'first-run-4-done.png'), fullPage: true });

    // 7. A reloaded page lists the user's own clips and no one else's (a cancelled waiting job left the queue: gone).
    await a.page.reload();
    await expectState(a.page, firstId, 'done', 30_000);
    assert.deepEqual(await a.page.locator('li.clip').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.jobId)), [firstId]);
    assert.equal(await a.page.locator(`li[data-job-id="${bobId}"]`).count(), 0);
  });

  test('stops in order on SIGTERM, its Redis with it', async () => {
    assert.ok(product, 'the product is running');
    product.child.kill('SIGTERM');
    const { code } = await product.exited;
    const { stderr } = product.output();
    assert.equal(code, 0, stderr.slice(-2000));
    // Library progress bars (tqdm: diffusers, transformers, huggingface_hub) and tracebacks never reached the log.
    assert.doesNotMatch(stderr, /\d+%\|/);
    assert.doesNotMatch(stderr, /it\/s\]/);
    assert.doesNotMatch(stderr, /Traceback/);
    await queue.close();
    redis.disconnect();
    assert.equal(await answers(redisPort), false, 'the embedded redis-server stopped with the product');
  });
});

async function answers(port: number): Promise<boolean> {
  const probe = new Redis(port, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function jobCounts(queue: Queue): Promise<{ total: number }> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  return { total: Object.values(counts).reduce((sum, n) => sum + n, 0) };
}

async function openPage(context: BrowserContext, url: string): Promise<{ page: Page }> {
  const page = await context.newPage();
  await page.goto(url);
  return { page };
}

async function expectMessage(page: Page, expected: string | RegExp): Promise<void> {
  const message = page.locator('#message');
  await page.waitForFunction(
    ({ source, flags, exact }) => {
      const got = document.getElementById('message')?.textContent ?? '';
      return exact !== null ? got === exact : new RegExp(source, flags).test(got);
    },
    typeof expected === 'string' ? { source: '', flags: '', exact: expected } : { source: expected.source, flags: expected.flags, exact: null },
    { timeout: 30_000 },
  ).catch(async () => assert.fail(`#message is ${JSON.stringify(await message.textContent())}, expected ${String(expected)}`));
}

async function expectStatus(page: Page, jobId: string, status: string): Promise<void> {
  await page
    .waitForFunction(({ jobId, status }) => document.querySelector(`li[data-job-id="${jobId}"] .status`)?.textContent?.startsWith(status) === true, { jobId, status }, { timeout: 30_000 })
    .catch(async () => assert.fail(`status of ${jobId}: ${JSON.stringify(await page.locator(`li[data-job-id="${jobId}"] .status`).textContent())}, expected ${status}`));
}

async function expectState(page: Page, jobId: string, state: string, timeout: number): Promise<void> {
  await page
    .waitForFunction(({ jobId, state }) => (document.querySelector(`li[data-job-id="${jobId}"]`) as HTMLElement | null)?.dataset.state === state, { jobId, state }, { timeout })
    .catch(async () => assert.fail(`state of ${jobId}: ${await page.locator(`li[data-job-id="${jobId}"]`).getAttribute('data-state')}, expected ${state}`));
}
