// Heartbeats, /gpu status, /metrics and /healthz on real Redis, from crafted worker readings.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { UnrecoverableError, Worker } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import type { WorkerHeartbeat } from '../../src/core/heartbeat.ts';
import { logger } from '../../src/core/log.ts';
import { startProcessOps } from '../../src/ops/process-ops.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import { heartbeatKey, publishHeartbeat, readHeartbeats, retireHeartbeat } from '../../src/queue/fleet-readings.ts';
import { workerConnection } from '../../src/queue/redis.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const GIB = 2 ** 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = logger('test');

/** A valid job payload, as the command layer would enqueue it. */
function request(prompt: string, delivery: JobRequest['delivery'] = { platform: 'cli', target: {} }): JobRequest {
  return { v: 1, requestId: randomUUID(), prompt, negativePrompt: '', preset: 'tiny', seed: 1, user: { id: 'u1', name: 'u', platform: 'cli' }, delivery, createdAt: Date.now() };
}

function beat(workerId: string, over: Partial<WorkerHeartbeat> = {}, gpu: Partial<NonNullable<WorkerHeartbeat['gpu']>> = {}): WorkerHeartbeat {
  const now = Date.now();
  return {
    v: 1,
    workerId,
    host: 'gpu-host',
    pid: 1,
    startedAt: now - 60_000,
    at: now,
    intervalMs: 5000,
    device: 'cuda:0',
    gpu: { name: 'NVIDIA H100 80GB HBM3', util: 0.95, vramUsedBytes: 30 * GIB, vramTotalBytes: 80 * GIB, temperatureC: 55, powerW: 300, ...gpu },
    engine: { state: 'idle', restarts: 0 },
    job: null,
    jobsDone: 3,
    jobsFailed: 0,
    medianJobS: 38,
    lastError: null,
    ...over,
  };
}

describe('fleet status on real Redis', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;

  before(async () => {
    t = testConfig({ ENGINE_RESTARTS_WARN: '2', OPS_HOST: '127.0.0.1' });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
  });
  after(async () => {
    await services.close();
    await t.cleanup();
  });

  test('a heartbeat appears with its record, expires after three intervals, and the worker is then reported missing', async () => {
    await publishHeartbeat(services.redis, services.queue, beat('short-lived', { intervalMs: 100 }));
    const ttl = await services.redis.pttl(heartbeatKey(services.queue, 'short-lived'));
    assert.ok(ttl > 0 && ttl <= 300, `TTL is three intervals, got ${ttl} ms`);
    let fleet = await readHeartbeats(services.redis, services.queue);
    assert.deepEqual(fleet.workers.map((w) => w.workerId), ['short-lived']);
    assert.equal(fleet.workers[0]!.gpu?.name, 'NVIDIA H100 80GB HBM3');

    await sleep(450);
    assert.equal(await services.redis.exists(heartbeatKey(services.queue, 'short-lived')), 0);
    fleet = await readHeartbeats(services.redis, services.queue);
    assert.deepEqual(fleet.workers, []);
    assert.deepEqual(fleet.missing.map((m) => m.workerId), ['short-lived']);

    // A worker that shut down cleanly retires its heartbeat: not missing, simply gone.
    await retireHeartbeat(services.redis, services.queue, 'short-lived');
    assert.deepEqual(await readHeartbeats(services.redis, services.queue), { workers: [], missing: [] });
  });

  test('/gpu status shows each worker, the queue, failures of the last hour, and a warning for every bad reading', async () => {
    // Two failed jobs through a real BullMQ worker; one of them is moved two hours back.
    const connection = workerConnection(t.config.REDIS_URL);
    const failer = new Worker(t.config.QUEUE_NAME, async () => {
      throw new UnrecoverableError('boom');
    }, { connection });
    const failed = new Promise<void>((resolve) => {
      let n = 0;
      failer.on('failed', () => ++n === 2 && resolve());
    });
    await services.queue.primary.queue.add('video', request('job 1'), { jobId: 'old-failure' });
    await services.queue.primary.queue.add('video', request('job 2'), { jobId: 'recent-failure' });
    await failed;
    await failer.close();
    connection.disconnect(); // BullMQ leaves a connection it was given open
    await services.redis.zadd(services.queue.primary.queue.toKey('failed'), 'XX', Date.now() - 2 * 3_600_000, 'old-failure');
    await services.queue.primary.queue.add('video', request('job 3'), { jobId: 'waiting-1' });

    await publishHeartbeat(services.redis, services.queue, beat('gpu-hot', { engine: { state: 'generating', restarts: 0 }, job: { id: 'waiting-0', stage: 'generating', step: 7, steps: 50, startedAt: Date.now() } }, { util: 0.2, temperatureC: 92, vramUsedBytes: 79 * GIB }));
    await publishHeartbeat(services.redis, services.queue, beat('gpu-flappy', { engine: { state: 'restarting', restarts: 2 }, lastError: { message: 'engine exited (SIGKILL)', at: Date.now() - 5000, jobId: 'x' } }));
    await publishHeartbeat(services.redis, services.queue, beat('gpu-dead', { intervalMs: 50 }));
    await sleep(250);

    const admin = recordingContext({ isAdmin: true });
    await dispatch(commands.gpuStatus, admin, {}, services);
    const text = admin.replies[0]!.text;
    assert.equal(admin.replies[0]!.private, true);
    const warnings = text.split('\n').filter((l) => l.startsWith('⚠️'));
    assert.deepEqual(warnings, [
      '⚠️ gpu-dead: no heartbeat for 0 s (down?)',
      '⚠️ gpu-flappy: engine restarted 2 times',
      '⚠️ gpu-hot: GPU 20% busy while generating (< 60%)',
      '⚠️ gpu-hot: VRAM 99% full (> 95%)',
      '⚠️ gpu-hot: GPU at 92 °C (> 85 °C)',
    ]);
    assert.match(text, /🖥 gpu-hot · NVIDIA H100 80GB HBM3 · cogvideox-2b\nGPU 20% · VRAM 79\.0\/80\.0 GiB\n92 °C · 300 W\nengine generating · job waiting-0 generating 7\/50/);
    assert.match(text, /🖥 gpu-flappy[^\n]*\n(?:[^\n]*\n)*?engine restarting\njobs 3 · median 38 s · restarts 2\nlast error 5 s ago: engine exited \(SIGKILL\)/);
    assert.match(text, /Workers: 2 alive, 1 missing/);
    assert.match(text, /Queue: 1 waiting · 0 active · 0 delayed/);
    assert.match(text, /Failed in the last hour: 1\n/);
    assert.match(text, /Redis: ok \(\d+ ms\)/);

    const user = recordingContext({ isAdmin: false });
    await dispatch(commands.gpuStatus, user, {}, services);
    assert.equal(user.replies[0]!.text, 'Sorry, this command is not available to you.');
  });

  test('GET /healthz is 200 while Redis answers; /metrics reports the queue depth read at scrape time', async () => {
    const ops = await startProcessOps({ config: t.config, port: 0, queue: services.queue, log });
    try {
      const health = await fetch(`http://127.0.0.1:${ops.port}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual({ ...((await health.json()) as object), redisMs: 0 }, { ok: true, redis: 'ok', redisMs: 0 });

      const before = await scrape(ops.port!);
      const labels = { queue: t.config.QUEUE_NAME };
      assert.equal(sampleValue(before, 'cogcast_queue_jobs', { ...labels, state: 'waiting' }), 1);
      assert.equal(sampleValue(before, 'cogcast_queue_jobs', { ...labels, state: 'failed' }), 2);
      assert.equal(sampleValue(before, 'cogcast_redis_up'), 1);
      await services.queue.primary.queue.add('video', request('job 4'), { jobId: 'waiting-2' });
      const afterAdd = await scrape(ops.port!);
      assert.equal(sampleValue(afterAdd, 'cogcast_queue_jobs', { ...labels, state: 'waiting' }), 2, 'read from Redis on every scrape');
      // prom-client's standard process metrics come along.
      assert.ok((sampleValue(afterAdd, 'process_cpu_user_seconds_total') ?? -1) >= 0);

      assert.equal((await fetch(`http://127.0.0.1:${ops.port}/nope`)).status, 404);
    } finally {
      await ops.close();
    }
  });

  test('GET /healthz is 503 when Redis does not answer, and /metrics still answers with redis_up 0', async () => {
    const down = testConfig({ REDIS_URL: 'redis://127.0.0.1:6390', OPS_HOST: '127.0.0.1' });
    const downServices = createCommandServices(down.config);
    const ops = await startProcessOps({ config: down.config, port: 0, queue: downServices.queue, log });
    try {
      const started = Date.now();
      const health = await fetch(`http://127.0.0.1:${ops.port}/healthz`);
      assert.equal(health.status, 503);
      assert.deepEqual(await health.json(), { ok: false, redis: 'unreachable', redisMs: null });
      assert.ok(Date.now() - started < 3000, 'health never hangs on Redis');
      const metrics = await scrape(ops.port!);
      assert.equal(sampleValue(metrics, 'cogcast_redis_up'), 0);

      // Straight to the command: dispatch's own Redis checks (rate limits) would answer first.
      const admin = recordingContext({ isAdmin: true });
      await commands.gpuStatus.execute(admin, {}, downServices);
      assert.equal(admin.replies[0]!.text, '⚠️ Redis: UNREACHABLE\nWorkers and queue unknown while Redis is down.');
    } finally {
      await ops.close();
      await downServices.close();
      rmSync(down.tmp, { recursive: true, force: true }); // no cleanup(): it would wait for the missing Redis
    }
  });
});
