// The whole slice on this machine: command -> BullMQ on real Redis -> worker -> tiny CogVideoX engine -> MP4.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Job, QueueEvents } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { requestCancel } from '../../src/queue/job-cancellation.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { probeVideo } from '../helpers/ffprobe.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

describe('pipeline end to end with the tiny engine', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let worker: RunningWorker;
  let events: QueueEvents;
  let delivery: CountingDelivery;

  before(async () => {
    t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10', QUOTA_MAX_JOBS_PER_HOUR: '100', ENGINE_STEP_TIMEOUT_S: '4' });
    services = createCommandServices(t.config);
    delivery = new CountingDelivery(t.config.OUTPUT_DIR);
    worker = await startVideoWorker(t.config, { deliveries: [delivery] });
    events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
    await events.waitUntilReady();
  });
  after(async () => {
    await events.close();
    await worker.close();
    await services.close();
    await t.cleanup();
  });

  async function submit(input: { prompt: string; preset?: string; seed?: number }, user = 'e2e'): Promise<Job<JobRequest, JobResult>> {
    const out = join(t.tmp, `${user}-${Date.now()}-${Math.random()}.mp4`);
    const ctx = recordingContext({ id: user, target: { platform: 'cli', target: { outPath: out } } });
    await dispatch(commands.video, ctx, input, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    const jobs = await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed']);
    const job = jobs.filter((j) => j.data.prompt === input.prompt).sort((a, b) => b.timestamp - a.timestamp)[0];
    assert.ok(job);
    return job as Job<JobRequest, JobResult>;
  }

  test('a job becomes an H.264 MP4 with the preset frame count, size and fps, and consistent stats', async () => {
    const progress: unknown[] = [];
    const job = await submit({ prompt: 'a red fox in the snow', seed: 11 });
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => jobId === job.id && progress.push(data);
    events.on('progress', onProgress);
    const result = jobResultSchema.parse(await job.waitUntilFinished(events, 120_000));
    events.off('progress', onProgress);

    const path = String(result.receipt.path);
    assert.ok(existsSync(path));
    const probed = await probeVideo(path);
    assert.deepEqual(probed, { codec: 'h264', width: 64, height: 32, pixFmt: 'yuv420p', frames: 9, fps: 8 });

    const s = result.stats;
    assert.equal(s.preset, 'tiny');
    assert.equal(s.seed, 11);
    assert.equal(s.steps, 2);
    assert.equal(s.cached, false);
    assert.ok(s.denoiseS > 0 && s.vaeDecodeS > 0 && s.mp4EncodeS > 0 && s.deliveryS !== null);
    assert.ok(s.textEncodeS + s.denoiseS + s.vaeDecodeS <= s.engineTotalS + 1e-3, 'engine stages add up to no more than its total');
    const stages = s.queueWaitS + s.engineTotalS + s.mp4EncodeS + (s.deliveryS ?? 0);
    assert.ok(stages <= s.endToEndS + 1e-3, `stages ${stages} exceed end-to-end ${s.endToEndS}`);
    assert.ok(Math.abs(s.denoisePerStepS * s.steps - s.denoiseS) < 1e-6);

    // Progress was relayed per step through BullMQ events, not polled.
    const steps = progress.filter((p) => (p as { stage: string }).stage === 'generating').map((p) => (p as { step: number }).step);
    assert.deepEqual(steps, [1, 2]);
    assert.equal(delivery.deliveriesOf(job.id!), 1);
    assert.deepEqual(await services.quota.pendingJobs('cli:e2e'), [], 'quota released after delivery');
  });

  test('an identical request (prompt, preset, seed) reuses the stored clip without running the engine', async () => {
    const first = await submit({ prompt: 'a paper boat on a river', seed: 99 });
    const a = jobResultSchema.parse(await first.waitUntilFinished(events, 120_000));
    const progressBefore = delivery.progressed.length;
    const second = await submit({ prompt: 'a paper boat on a river', seed: 99 });
    const b = jobResultSchema.parse(await second.waitUntilFinished(events, 120_000));
    assert.equal(b.stats.cached, true);
    assert.equal(b.videoPath, a.videoPath);
    const generating = delivery.progressed.slice(progressBefore).filter((p) => p.jobId === second.id && p.update.stage === 'generating');
    assert.equal(generating.length, 0, 'the engine did not run');
    assert.equal(delivery.deliveriesOf(second.id!), 1);
  });

  test('engine killed mid-job: the job is retried with a clear reason, the engine restarts, delivered once', async () => {
    const restartsBefore = worker.engine.restarts;
    const job = await submit({ prompt: 'a storm over the sea', preset: 'tiny-slow', seed: 3 });
    await new Promise<void>((resolve) => {
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (jobId === job.id && (data as { stage: string }).stage === 'generating') {
          events.off('progress', onProgress);
          worker.engine.kill('SIGKILL');
          resolve();
        }
      };
      events.on('progress', onProgress);
    });
    const result = jobResultSchema.parse(await job.waitUntilFinished(events, 180_000));
    const final = await services.queue.primary.queue.getJob(job.id!);
    assert.equal(final?.attemptsMade, 2, 'one failed attempt, then the success');
    assert.match(final?.stacktrace?.[0] ?? '', /engine exited \(SIGKILL\)/);
    assert.equal(worker.engine.restarts, restartsBefore + 1);
    assert.equal(result.alreadyDelivered, false);
    assert.equal(delivery.deliveriesOf(job.id!), 1);

    const next = await submit({ prompt: 'calm sea after the storm', seed: 4 });
    await next.waitUntilFinished(events, 120_000);
    assert.equal(delivery.deliveriesOf(next.id!), 1);
  });

  test('a hung engine is killed by the watchdog and the job retried', async () => {
    const restartsBefore = worker.engine.restarts;
    const job = await submit({ prompt: 'a frozen clock', preset: 'tiny-slow', seed: 8 });
    await new Promise<void>((resolve) => {
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (jobId === job.id && (data as { stage: string }).stage === 'generating') {
          events.off('progress', onProgress);
          worker.engine.kill('SIGSTOP'); // alive but silent: only the watchdog can notice
          resolve();
        }
      };
      events.on('progress', onProgress);
    });
    await job.waitUntilFinished(events, 180_000);
    const final = await services.queue.primary.queue.getJob(job.id!);
    assert.match(final?.stacktrace?.[0] ?? '', /engine hung \(no progress for 4 s\)/);
    assert.equal(worker.engine.restarts, restartsBefore + 1);
    assert.equal(delivery.deliveriesOf(job.id!), 1);
  });

  test('a job already delivered by an earlier attempt is not posted again when it runs twice', async () => {
    const job = await submit({ prompt: 'a lantern at dusk', seed: 21 });
    await job.waitUntilFinished(events, 120_000);
    // At-least-once delivery: simulate BullMQ handing the same job out again (e.g. after a stall). A job id must be
    // its request id (a worker refuses any other), so the finished job is removed and the same id queued again.
    await job.remove();
    const again = await services.queue.primary.queue.add('video', job.data, { jobId: job.id! });
    const result = jobResultSchema.parse(await again.waitUntilFinished(events, 120_000));
    assert.equal(result.alreadyDelivered, true);
    assert.equal(delivery.deliveriesOf(job.id!), 1, 'delivered once over both runs');
  });

  test('cancel while generating stops the engine between steps; the user is told; the next job works', async () => {
    const job = await submit({ prompt: 'a slow sunrise', preset: 'tiny-slow', seed: 5 });
    await new Promise<void>((resolve) => {
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (jobId === job.id && (data as { stage: string }).stage === 'generating') {
          events.off('progress', onProgress);
          resolve();
        }
      };
      events.on('progress', onProgress);
    });
    assert.equal(await requestCancel(services.queue, job.id!, 'cli:e2e', false), 'signalled');
    await assert.rejects(job.waitUntilFinished(events, 60_000), /cancelled/);
    const failed = await services.queue.primary.queue.getJob(job.id!);
    assert.equal(failed?.attemptsMade, 1, 'a cancelled job is not retried');
    assert.deepEqual(delivery.failures.find((f) => f.jobId === job.id)?.failure.code, 'cancelled');
    assert.equal(delivery.deliveriesOf(job.id!), 0);

    const next = await submit({ prompt: 'a fast sunset', seed: 6 });
    await next.waitUntilFinished(events, 120_000);
    assert.equal(delivery.deliveriesOf(next.id!), 1);
  });
});
