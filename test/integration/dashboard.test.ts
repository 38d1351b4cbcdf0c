// The queue dashboard (bull-board on BullMQ 6): refuses anonymous visitors, serves the real page to an operator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCommandServices } from '../../src/app-services.ts';
import { logger } from '../../src/core/log.ts';
import { type RunningOps, startProcessOps } from '../../src/ops/process-ops.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const CHROMIUM = '/usr/bin/chromium';
const USER = 'ops';
const PASSWORD = 'dashboard-test-password';
const log = logger('test');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A valid job payload, as the command layer would enqueue it. */
function request(prompt: string, delivery: JobRequest['delivery'] = { platform: 'cli', target: {} }): JobRequest {
  return { v: 1, requestId: randomUUID(), prompt, negativePrompt: '', preset: 'tiny', seed: 1, user: { id: 'u1', name: 'u', platform: 'cli' }, delivery, createdAt: Date.now() };
}

describe('queue dashboard', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let ops: RunningOps;
  let base: string;

  before(async () => {
    t = testConfig({ DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, OPS_HOST: '127.0.0.1' });
    services = createCommandServices(t.config);
    const delivery = { platform: 'discord' as const, target: { channelId: '42', interactionToken: 'aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0' } };
    await services.queue.primary.queue.add('video', request('a job to look at', delivery), { jobId: 'visible-job' });
    ops = await startProcessOps({ config: t.config, port: 0, queue: services.queue, dashboard: true, log });
    base = `http://127.0.0.1:${ops.port}${ops.dashboardPath}`;
  });
  after(async () => {
    await ops.close();
    await services.close();
    await t.cleanup();
  });

  test('off unless both a user and a password are configured', async () => {
    const partial: Record<string, string>[] = [{}, { DASHBOARD_USER: 'ops' }, { DASHBOARD_PASSWORD: 'a-long-enough-password' }];
    for (const creds of partial) {
      const config = testConfig({ ...creds, OPS_HOST: '127.0.0.1' });
      const off = await startProcessOps({ config: config.config, port: 0, queue: services.queue, dashboard: true, log });
      assert.equal(off.dashboardPath, null, JSON.stringify(creds));
      assert.equal((await fetch(`http://127.0.0.1:${off.port}/dashboard/`)).status, 404, JSON.stringify(creds));
      await off.close();
      await config.cleanup();
    }
  });

  test('anonymous and wrong-password requests get 401 with a basic-auth challenge, pages and API alike', async () => {
    for (const path of ['/', '/api/queues', `/queue/${t.config.QUEUE_NAME}`]) {
      const anonymous = await fetch(base + path);
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="cogcast queue"/);
      assert.doesNotMatch(await anonymous.text(), /visible-job|bull/i);
      const wrong = await fetch(base + path, { headers: { authorization: basic(USER, 'guess') } });
      assert.equal(wrong.status, 401, path);
      const wrongUser = await fetch(base + path, { headers: { authorization: basic('admin', PASSWORD) } });
      assert.equal(wrongUser.status, 401, path);
    }
  });

  test('an operator gets the page, and the API reads the BullMQ 6 queue with its jobs', async () => {
    const auth = { authorization: basic(USER, PASSWORD) };
    const page = await fetch(`${base}/`, { headers: auth });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<div id="root">/);
    assert.match(html, /cogcast queue/);

    const api = await fetch(`${base}/api/queues?activeQueue=${t.config.QUEUE_NAME}&status=waiting&page=1`, { headers: auth });
    assert.equal(api.status, 200);
    const body = (await api.json()) as { queues: { name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: { id: string; data: unknown }[] }[] };
    const queue = body.queues.find((q) => q.name === t.config.QUEUE_NAME);
    assert.ok(queue, `queue listed: ${body.queues.map((q) => q.name).join(', ')}`);
    assert.equal(queue.counts.waiting, 1);
    assert.equal(queue.readOnlyMode, true);
    assert.deepEqual(queue.jobs.map((j) => j.id), ['visible-job']);
    const shown = JSON.stringify(queue.jobs[0]);
    assert.match(shown, /a job to look at/);
    assert.ok(!shown.includes('aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0'), 'the interaction token is not shown');
    assert.match(shown, /"interactionToken":"\[redacted\]"/);
  });

  test('in a real browser (headless Chromium): refused without credentials, the queue and its job shown with them', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      ctx.skip(`${CHROMIUM} is absent (Debian: apt-get install chromium); the HTTP checks above still ran`);
      return;
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      // Without credentials the browser gets the 401 challenge and, having none to give, shows nothing.
      const anonymous = await browser.newPage();
      const statuses: number[] = [];
      anonymous.on('response', (r) => statuses.push(r.status()));
      await assert.rejects(anonymous.goto(`${base}/`), /ERR_INVALID_AUTH_CREDENTIALS/);
      assert.deepEqual(statuses, [401]);

      const operator = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
      const page = await operator.newPage();
      const served = await page.goto(`${base}/queue/${t.config.QUEUE_NAME}?status=waiting`);
      assert.equal(served?.status(), 200);
      // The React app fetched the queue through its API and drew the waiting job.
      await page.getByText('visible-job').first().waitFor({ timeout: 20_000 });
      await page.getByText(t.config.QUEUE_NAME).first().waitFor({ timeout: 5_000 });
      await page.screenshot({ path: join(t.tmp, 'dashboard.png') });
      if (process.env.COGCAST_KEEP_SCREENSHOT) await page.screenshot({ path: process.env.COGCAST_KEEP_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
