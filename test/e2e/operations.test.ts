// The operators' view of a real worker process with the tiny engine: heartbeats, /gpu status, /metrics, /healthz.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import type { WorkerHeartbeat } from '../../src/core/heartbeat.ts';
import { logger } from '../../src/core/log.ts';
import { type RunningOps, startProcessOps } from '../../src/ops/process-ops.ts';
import { heartbeatKey, readHeartbeats } from '../../src/queue/fleet-readings.ts';
import { jobResultSchema } from '../../src/queue/job-contract.ts';
import { waitUntilReady } from '../../src/queue/redis.ts';
import { type Sample, sampleValue, scrape } from '../helpers/prometheus.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';
import { spawnWorkerProcess } from '../helpers/worker-process.ts';

const INTERVAL_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `read` until `ok` holds; fails with the last value seen. */
async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** Engine processes the worker started (its other children, such as esbuild, do not count). */
function enginePids(workerPid: number): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${workerPid}/task`)) {
    const children = readFileSync(`/proc/${workerPid}/task/${task}/children`, 'utf8').trim();
    for (const pid of children ? children.split(/\s+/).map(Number) : []) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cogcast_engine')) pids.push(pid);
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return pids;
}

describe('operators view of a real worker process', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let botOps: RunningOps;
  let child: ChildProcess;
  let workerPort: number;
  let stderr = '';
  const workerId = `ops-e2e-${randomUUID().slice(0, 8)}`;
  const spawnedEngines = new Set<number>();

  const beat = async (): Promise<WorkerHeartbeat | undefined> => (await readHeartbeats(services.redis, services.queue)).workers.find((w) => w.workerId === workerId);
  const gpuStatus = async (): Promise<string> => {
    const admin = recordingContext({ isAdmin: true });
    await dispatch(commands.gpuStatus, admin, {}, services);
    return admin.replies[0]!.text;
  };
  const healthz = async () => {
    const res = await fetch(`http://127.0.0.1:${workerPort}/healthz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    t = testConfig({ HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS), ENGINE_RESTARTS_WARN: '1', QUOTA_MAX_JOBS_PER_HOUR: '100' });
    services = createCommandServices(t.config);
    await waitUntilReady(services.redis);
    botOps = await startProcessOps({ config: t.config, port: 0, queue: services.queue, log: logger('test') });
    workerPort = await freePort();
    child = spawnWorkerProcess(t.config, { WORKER_ID: workerId, WORKER_METRICS_PORT: String(workerPort), LOG_LEVEL: 'warn' });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
  });
  after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of spawnedEngines) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone: the engine exits when its worker's pipe closes */
      }
    }
    await botOps.close();
    await services.close();
    await t.cleanup();
  });

  test('the heartbeat appears while the engine warms, then says idle, no GPU (CPU), and the worker is healthy', async () => {
    const states = new Set<string>();
    const ready = await waitFor(
      'an idle heartbeat',
      async () => {
        const b = await beat();
        if (b) states.add(b.engine.state);
        return b;
      },
      (b) => b?.engine.state === 'idle',
      90_000,
    ).catch((err: Error) => assert.fail(`${err.message}\nworker stderr: ${stderr}`));
    assert.ok(states.has('warming'), `seen: ${[...states].join(', ')}`);
    assert.equal(ready!.host, hostname());
    assert.equal(ready!.pid, child.pid);
    assert.equal(ready!.device, 'cpu');
    assert.equal(ready!.gpu, null);
    assert.deepEqual([ready!.engine.restarts, ready!.jobsDone, ready!.job, ready!.medianJobS, ready!.lastError], [0, 0, null, null, null]);
    const ttl = await services.redis.pttl(heartbeatKey(services.queue, workerId));
    assert.ok(ttl > 0 && ttl <= 3 * INTERVAL_MS, `expires after three intervals (TTL ${ttl} ms)`);

    const text = await gpuStatus();
    assert.match(text, /^✅ no warnings/);
    assert.match(text, new RegExp(`🖥 ${workerId} · no GPU \\(cpu\\) · cogvideox-2b\\nengine idle\\njobs 0 · median – · restarts 0`));
    assert.match(text, /Workers: 1 alive\nQueue: 0 waiting · 0 active · 0 delayed\nFailed in the last hour: 0\nRedis: ok/);

    const health = await healthz();
    assert.equal(health.status, 200);
    assert.equal(health.body.engine, 'idle');
    assert.equal(health.body.redis, 'ok');
  });

  test('a job: the heartbeat follows its steps, then counts it; the worker and bot /metrics report it', async () => {
    const ctx = recordingContext({ id: 'ops', target: { platform: 'cli', target: { outPath: join(t.tmp, 'ops.mp4') } } });
    await dispatch(commands.video, ctx, { prompt: 'a lighthouse in fog', preset: 'tiny-slow', seed: 7 }, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    const [job] = await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'completed']);
    const jobId = job!.id!;

    // The tiny engine denoises its 12 steps faster than a heartbeat interval (and the decode that follows is reported
    // as its own stage): freeze it (SIGSTOP) once the worker has relayed a step, so the heartbeat and /gpu status
    // are read mid-denoise, then let it go on.
    const [engine] = enginePids(child.pid!);
    assert.ok(engine, 'the worker runs an engine');
    await waitFor('the worker to relay a step', async () => (await services.queue.primary.queue.getJob(jobId))?.progress, (p) => (p as { stage?: string } | undefined)?.stage === 'generating', 60_000, 2);
    process.kill(engine, 'SIGSTOP');
    try {
      const during = await waitFor('the heartbeat to show the job mid-denoise', beat, (b) => b?.job?.id === jobId && b.engine.state === 'generating' && (b.job.step ?? 0) >= 1);
      assert.equal(during!.job!.steps, 12);
      assert.equal(during!.job!.stage, 'generating');
      const midStatus = await gpuStatus();
      assert.match(midStatus, new RegExp(`engine generating · job ${jobId.slice(0, 8)} generating \\d+/12`));
    } finally {
      process.kill(engine, 'SIGCONT');
    }

    await waitFor('the job to complete', async () => (await services.queue.primary.queue.getJob(jobId))?.finishedOn, (f) => f !== undefined, 120_000);
    const result = jobResultSchema.parse((await services.queue.primary.queue.getJob(jobId))!.returnvalue);
    const done = await waitFor('the heartbeat to count the job', beat, (b) => b?.jobsDone === 1);
    assert.equal(done!.job, null);
    assert.equal(done!.engine.state, 'idle');
    // The worker times a job until BullMQ has it completed, a few ms of bookkeeping past the post that ends endToEndS.
    assert.ok(done!.medianJobS! > 0 && done!.medianJobS! <= result.stats.endToEndS + 0.5, `median ${done!.medianJobS} vs ${result.stats.endToEndS}`);
    assert.match(await gpuStatus(), new RegExp(`jobs 1 · median [\\d.]+ s · restarts 0`));

    const worker = await scrape(workerPort);
    const stage = (name: string, s: Sample[], suffix: string) => sampleValue(s, `cogcast_job_stage_seconds_${suffix}`, { stage: name, preset: 'tiny-slow', ...(suffix === 'bucket' ? { le: '+Inf' } : {}) });
    for (const name of ['queue_wait', 'text_encode', 'denoise', 'vae_decode', 'mp4_encode', 'delivery', 'end_to_end']) {
      assert.equal(stage(name, worker, 'count'), 1, `${name} observed once`);
      assert.equal(stage(name, worker, 'bucket'), 1, `${name} in the +Inf bucket`);
    }
    assert.ok(Math.abs(stage('end_to_end', worker, 'sum')! - result.stats.endToEndS) < 1e-6, 'the histogram holds the job\'s own end-to-end time');
    assert.ok(Math.abs(stage('denoise', worker, 'sum')! - result.stats.denoiseS) < 1e-6);
    assert.equal(sampleValue(worker, 'cogcast_jobs_total', { outcome: 'completed' }), 1);
    assert.equal(sampleValue(worker, 'cogcast_gpu_utilization_ratio'), undefined, 'no GPU gauges on a CPU worker');
    for (const samples of [worker, await scrape(botOps.port!)]) {
      const queue = { queue: t.config.QUEUE_NAME };
      assert.equal(sampleValue(samples, 'cogcast_queue_jobs', { ...queue, state: 'completed' }), 1);
      assert.equal(sampleValue(samples, 'cogcast_queue_jobs', { ...queue, state: 'waiting' }), 0);
      assert.equal(sampleValue(samples, 'cogcast_queue_jobs', { ...queue, state: 'active' }), 0);
      assert.equal(sampleValue(samples, 'cogcast_redis_up'), 1);
    }
  });

  test('the engine killed: /healthz turns 503 while it restarts, the restart is counted, and /gpu status warns', async () => {
    const [engine] = enginePids(child.pid!);
    assert.ok(engine, 'the worker runs an engine process');
    spawnedEngines.add(engine);
    process.kill(engine, 'SIGKILL');
    const down = await waitFor('/healthz to say the engine is not serving', healthz, (h) => h.status === 503, 10_000);
    assert.match(String(down.body.engine), /restarting|warming/);
    assert.equal(down.body.redis, 'ok');
    await waitFor('/healthz to recover', healthz, (h) => h.status === 200, 60_000);
    for (const pid of enginePids(child.pid!)) spawnedEngines.add(pid);

    const after = await waitFor('the heartbeat to show the restart', beat, (b) => b?.engine.restarts === 1 && b.engine.state === 'idle');
    assert.equal(after!.jobsDone, 1);
    const text = await gpuStatus();
    assert.match(text, new RegExp(`^⚠️ ${workerId}: engine restarted 1 time$`, 'm'));
    assert.equal(sampleValue(await scrape(workerPort), 'cogcast_engine_restarts_total', { worker: workerId }), 1);
  });

  test('the worker killed outright: its heartbeat expires within three intervals and /gpu status reports it missing', async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    await waitFor('the heartbeat key to expire', () => services.redis.exists(heartbeatKey(services.queue, workerId)), (n) => n === 0, 5000);
    assert.ok(Date.now() - killedAt <= 3 * INTERVAL_MS + 500, `expired ${Date.now() - killedAt} ms after the kill`);

    const text = await gpuStatus();
    const warnings = text.split('\n').filter((l) => l.startsWith('⚠️'));
    assert.equal(warnings[0], '⚠️ no GPU worker alive: jobs will wait');
    assert.match(warnings[1] ?? '', new RegExp(`^⚠️ ${workerId}: no heartbeat for \\d+ s \\(down\\?\\)$`));
    assert.match(text, /Workers: 0 alive, 1 missing/);
    await assert.rejects(fetch(`http://127.0.0.1:${workerPort}/healthz`), 'a dead worker answers nothing');
  });
});
