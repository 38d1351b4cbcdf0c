// /settings on the web page: a form (no script needed) posting to the same command as chat, with its checks and
// answers; the stored values prefill the form and the next video uses them; a forged post changes nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCommandServices } from '../../src/app-services.ts';
import { logger } from '../../src/core/log.ts';
import { text } from '../../src/core/texts.ts';
import { userSettingsStore } from '../../src/core/user-settings.ts';
import { type RunningWebPlatform, startWebPlatform } from '../../src/platforms/web/web-server.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

describe('web page: the settings form', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let web: RunningWebPlatform;
  let cookie = '';
  let csrf = '';
  let userKey = '';

  before(async () => {
    t = testConfig({ WEB_PORT: '0' });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
    web = await startWebPlatform({ config: t.config, services, log: logger('web'), secretFile: join(t.tmp, 'web-secret') });
  });
  after(async () => {
    await web?.stop();
    await services?.close();
    await t?.cleanup();
  });

  const page = async () => {
    const res = await fetch(web.url, { headers: cookie ? { cookie } : {} });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    const html = await res.text();
    csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    return html;
  };
  const post = (fields: Record<string, string>, withCsrf = true) =>
    fetch(`${web.url}api/settings`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ ...fields, ...(withCsrf ? { csrf } : {}) }).toString(),
    });
  const selected = (html: string, name: string) => new RegExp(`<select id="settings-${name}"[^]*?<option value="([^"]*)" selected`).exec(html)?.[1];

  test('saved through the form, in the new language, prefilled on the next load and used by the next video', async () => {
    const first = await page();
    assert.match(first, /<details id="settings"><summary>Your settings<\/summary>/);
    assert.equal(selected(first, 'stats'), undefined, 'nothing stored yet');
    const res = await post({ preset: 'tiny-slow', negativePrompt: 'blurry', language: 'ru', stats: 'short' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Сохранено\. Ваши настройки:/);
    const html = await page();
    assert.deepEqual([selected(html, 'preset'), selected(html, 'language'), selected(html, 'stats')], ['tiny-slow', 'ru', 'short']);
    assert.match(html, /id="settings-negativePrompt" name="negativePrompt" autocomplete="off" value="blurry"/);
    const video = await fetch(`${web.url}api/videos`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ prompt: 'a lantern', csrf }),
    });
    const body = (await video.json()) as { ok: boolean; jobId: string };
    assert.equal(body.ok, true);
    const job = await services.queue.primary.queue.getJob(body.jobId);
    assert.deepEqual([job?.data.preset, job?.data.negativePrompt, job?.data.locale, job?.data.stats], ['tiny-slow', 'blurry', 'ru', 'short']);
    userKey = `web:${job!.data.user.id}`;
    await job?.remove();
  });

  test('a bad value is refused with the chat message and nothing changes; a post without the token is refused', async () => {
    const before = await userSettingsStore(services).get(userKey);
    const bad = await post({ preset: 'tiny', negativePrompt: '', language: 'klingon', stats: 'full' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /klingon/);
    const forged = await post({ preset: 'tiny', negativePrompt: '', language: 'en', stats: 'full' }, false);
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), new RegExp(text('web.forged').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const extra = await post({ preset: 'tiny', steps: '500' });
    assert.equal(extra.status, 400);
    assert.deepEqual(await userSettingsStore(services).get(userKey), before);
  });

  test('"Forget my settings" resets them', async () => {
    const res = await post({ action: 'reset' });
    assert.equal(res.status, 200);
    assert.deepEqual(await userSettingsStore(services).get(userKey), {});
    assert.equal(selected(await page(), 'stats'), undefined);
  });
});
