// The ops server's doors (issue 13): loopback by default, failed logins back off per address, /metrics optionally
// behind a token, a short dashboard password refused at start-up, and the dashboard never shows a credential.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from 'bullmq';
import { parseEnv } from '../../config/env.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { logger } from '../../src/core/log.ts';
import { type RunningOps, startProcessOps } from '../../src/ops/process-ops.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import { waitUntilReady, workerConnection } from '../../src/queue/redis.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';

const USER = 'ops';
const PASSWORD = 'ops-server-test-password';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const BOT_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';
const log = logger('test');
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function request(prompt: string): JobRequest {
  return { v: 1, requestId: randomUUID(), prompt, negativePrompt: '', preset: 'tiny', seed: 1, user: { id: 'u1', name: 'u', platform: 'cli' }, delivery: { platform: 'cli', target: {} }, createdAt: Date.now() };
}

/** Statuses of `n` requests sent 25 at a time (as fast as a guessing script would). */
async function statuses(n: number, url: string, headers: Record<string, string>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => fetch(url, { headers }).then(async (r) => (await r.arrayBuffer(), r.status))));
    out.push(...batch);
  }
  return out;
}

const count = (list: number[], status: number) => list.filter((s) => s === status).length;

describe('ops server', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let ops: RunningOps;
  let base: string;

  before(async () => {
    t = testConfig({ DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, METRICS_TOKEN, OPS_HOST: '127.0.0.1' });
    services = createCommandServices(t.config);
    await waitUntilReady(services.redis);
    ops = await startProcessOps({ config: t.config, port: 0, queue: services.queue, dashboard: true, log });
    base = `http://127.0.0.1:${ops.port}`;
  });
  after(async () => {
    await ops?.close();
    await services?.close();
    await t?.cleanup();
  });

  test('one server: /healthz open, /metrics and the dashboard each behind their own credentials', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/dashboard/`, { headers: basic(USER, PASSWORD) })).status, 200);
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /cogcast_redis_up/);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });

  test('with METRICS_TOKEN set, /metrics without or with a wrong bearer token is 401 and shows no metric', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, basic(USER, PASSWORD), { authorization: METRICS_TOKEN }]) {
      const res = await fetch(`${base}/metrics`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="cogcast metrics"/);
      assert.doesNotMatch(await res.text(), /cogcast_/);
    }
  });

  test('300 wrong dashboard passwords from one address are slowed to 429 after a few; the right one is refused meanwhile', async () => {
    const guesses = await statuses(300, `${base}/dashboard/api/queues`, basic(USER, 'guess-guess-guess-guess'));
    assert.ok(count(guesses, 401) <= 10, `at most 10 guesses looked at, got ${count(guesses, 401)} 401s`);
    assert.equal(count(guesses, 429), 300 - count(guesses, 401), `every other guess refused: ${JSON.stringify(guesses.slice(0, 20))}`);
    const blocked = await fetch(`${base}/dashboard/api/queues`, { headers: basic(USER, PASSWORD) });
    assert.equal(blocked.status, 429, 'during the block even the right password is not looked at');
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1, 'Retry-After says how long');
    // The same address guessing the metrics token is blocked too: one throttle per server.
    assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 429);
    // Asking without credentials (a browser's first request) is not a guess, and still gets the challenge.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('after the block, the right password works again, and each further block is longer', async () => {
    const short = testConfig({ DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, OPS_HOST: '127.0.0.1' });
    const shortOps = await startProcessOps({ config: short.config, port: 0, queue: services.queue, dashboard: true, log, loginThrottle: { failures: 3, windowS: 60, blockS: 1, maxBlockS: 8 } });
    const url = `http://127.0.0.1:${shortOps.port}/dashboard/api/queues`;
    try {
      const first = await statuses(20, url, basic(USER, 'wrong-wrong-wrong-wrong'));
      assert.equal(count(first, 401), 3);
      assert.equal(count(first, 429), 17);
      const retryAfter = Number((await fetch(url, { headers: basic(USER, PASSWORD) })).headers.get('retry-after'));
      assert.equal(retryAfter, 1);
      // Generous: the machine is loaded; the block is one second.
      let ok = 0;
      for (let i = 0; i < 40 && ok !== 200; i++) {
        await sleep(250);
        ok = (await fetch(url, { headers: basic(USER, PASSWORD) })).status;
      }
      assert.equal(ok, 200, 'the right password works once the block has passed');
      // A second round of guesses from the same address: the block doubles.
      const second = await statuses(10, url, basic(USER, 'wrong-wrong-wrong-wrong'));
      assert.equal(count(second, 401), 3, 'a correct login resets the failure count');
      assert.equal(Number((await fetch(url, { headers: basic(USER, PASSWORD) })).headers.get('retry-after')), 2);
    } finally {
      await shortOps.close();
      await short.cleanup();
    }
  });

  test('the dashboard shows failure reasons and stack traces without the bot token or URL credentials', async () => {
    const connection = workerConnection(t.config.REDIS_URL);
    const failer = new Worker(
      t.config.QUEUE_NAME,
      async () => {
        throw new Error(`sendVideo: 413 <html>nginx</html> from https://api.telegram.org/bot${BOT_TOKEN}/sendVideo via http://proxy-user:proxy-pass-1/2@egress:3128`);
      },
      { connection },
    );
    const failed = new Promise<void>((resolve) => failer.once('failed', () => resolve()));
    await services.queue.primary.queue.add('video', request('will fail'), { jobId: 'leaky-failure' });
    await failed;
    await failer.close();
    connection.disconnect();
    const stored = await services.queue.primary.queue.getJob('leaky-failure');
    assert.ok(stored?.failedReason.includes(BOT_TOKEN), 'the raw reason is in Redis: the dashboard is what must scrub it');

    const api = await fetch(`${base}/dashboard/api/queues?activeQueue=${t.config.QUEUE_NAME}&status=failed&page=1`, { headers: basic(USER, PASSWORD) });
    // The previous test blocked 127.0.0.1 for a minute: a fresh server is asked instead when needed.
    const body = api.status === 429 ? await askFresh() : await api.text();
    assert.match(body, /leaky-failure/);
    assert.match(body, /bot\[redacted\]\/sendVideo/);
    assert.match(body, /proxy-user:\[redacted\]@egress/);
    for (const secret of [BOT_TOKEN, BOT_TOKEN.split(':')[1]!, 'proxy-pass-1/2']) assert.ok(!body.includes(secret), `"${secret}" shown on the dashboard`);
    const one = await fetchJob();
    assert.ok(!one.includes(BOT_TOKEN) && one.includes('[redacted]'), 'the job page too');

    async function askFresh(): Promise<string> {
      const fresh = await startProcessOps({ config: t.config, port: 0, queue: services.queue, dashboard: true, log });
      try {
        base = `http://127.0.0.1:${fresh.port}`;
        const res = await fetch(`${base}/dashboard/api/queues?activeQueue=${t.config.QUEUE_NAME}&status=failed&page=1`, { headers: basic(USER, PASSWORD) });
        assert.equal(res.status, 200);
        const text = await res.text();
        return text;
      } finally {
        fresh.close().catch(() => undefined);
        base = `http://127.0.0.1:${ops.port}`;
      }
    }
    async function fetchJob(): Promise<string> {
      const fresh = await startProcessOps({ config: t.config, port: 0, queue: services.queue, dashboard: true, log });
      try {
        const res = await fetch(`http://127.0.0.1:${fresh.port}/dashboard/api/queues/${t.config.QUEUE_NAME}/leaky-failure`, { headers: basic(USER, PASSWORD) });
        assert.equal(res.status, 200);
        return await res.text();
      } finally {
        await fresh.close();
      }
    }
  });
});

describe('ops defaults', () => {
  test('the ops server and the Telegram webhook listen on 127.0.0.1 unless told otherwise', () => {
    const config = parseEnv({});
    assert.equal(config.OPS_HOST, '127.0.0.1');
    assert.equal(config.TELEGRAM_WEBHOOK_HOST, '127.0.0.1');
  });

  test('with the default host the ops server is not reachable on the machine\'s network address', async (ctx) => {
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!external) {
      ctx.skip('this machine has no non-loopback IPv4 address');
      return;
    }
    const t = testConfig({ OPS_HOST: parseEnv({}).OPS_HOST });
    const services = createCommandServices(t.config);
    await waitUntilReady(services.redis);
    const ops = await startProcessOps({ config: t.config, port: 0, queue: services.queue, log });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${ops.port}/healthz`)).status, 200);
      await assert.rejects(fetch(`http://${external}:${ops.port}/healthz`), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
    } finally {
      await ops.close();
      await services.close();
      await t.cleanup();
    }
  });

  test('a dashboard password or metrics token under 16 characters is refused at start-up in one line, never shown', async () => {
    for (const [name, value] of [['DASHBOARD_PASSWORD', 'hunter2hunter2'], ['METRICS_TOKEN', 'short-token']] as const) {
      const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/bin/start.ts')], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, COGCAST_ROLE: 'bot', DASHBOARD_USER: 'ops', [name]: value },
      }).then(
        () => assert.fail('started'),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(result.code, 78);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`^cogcast: configuration error: ${name}=<hidden> is invalid: at least 16 characters`));
      assert.ok(!result.stderr.includes(value));
    }
  });
});
