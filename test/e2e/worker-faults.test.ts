// Faults around the worker: the worker process killed mid-job, the disk for frames full.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Job, QueueEvents } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import type { JobRequest, JobResult } from '../../src/queue/job-contract.ts';
import { jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { startVideoWorker } from '../../worker/video-worker.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';
import { spawnWorkerProcess } from '../helpers/worker-process.ts';

async function submit(t: TestConfig, services: ReturnType<typeof createCommandServices>, prompt: string, preset = 'tiny'): Promise<Job<JobRequest, JobResult>> {
  const ctx = recordingContext({ id: 'faults', target: { platform: 'cli', target: { outPath: join(t.tmp, `${Date.now()}.mp4`) } } });
  await dispatch(commands.video, ctx, { prompt, preset }, services);
  assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
  const job = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active'])).find((j) => j.data.prompt === prompt);
  assert.ok(job);
  return job as Job<JobRequest, JobResult>;
}

function waitForStage(events: QueueEvents, jobId: string, stage: string): Promise<void> {
  return new Promise((resolve) => {
    const on = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
      if (id === jobId && (data as { stage: string }).stage === stage) {
        events.off('progress', on);
        resolve();
      }
    };
    events.on('progress', on);
  });
}

describe('worker process killed mid-job', () => {
  const t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10' });
  after(() => t.cleanup());

  test('the stalled job is taken by another worker and delivered exactly once', async () => {
    const services = createCommandServices(t.config);
    const events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
    const child = spawnWorkerProcess(t.config, { WORKER_LOCK_DURATION_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000', WORKER_ID: 'doomed' });
    let survivor: Awaited<ReturnType<typeof startVideoWorker>> | null = null;
    try {
      await events.waitUntilReady();
      const job = await submit(t, services, 'a ship in a bottle', 'tiny-slow');
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`worker process exited early (${code}): ${stderr}`))));
      await Promise.race([waitForStage(events, job.id!, 'generating'), exited]);
      const stalled = new Promise<string>((resolve) => events.once('stalled', ({ jobId }) => resolve(jobId)));
      child.kill('SIGKILL');
      const delivery = new CountingDelivery(t.config.OUTPUT_DIR);
      survivor = await startVideoWorker({ ...t.config, WORKER_ID: 'survivor' }, { deliveries: [delivery], stalledIntervalMs: 1000, lockDurationMs: 3000 });
      assert.equal(await stalled, job.id);
      const result = jobResultSchema.parse(await job.waitUntilFinished(events, 120_000));
      assert.equal(result.stats.workerId, 'survivor');
      assert.equal(delivery.deliveriesOf(job.id!), 1);
      assert.equal(await job.getState(), 'completed');
      assert.deepEqual(await services.quota.pendingJobs('cli:faults'), []);
    } finally {
      child.kill('SIGKILL');
      await survivor?.close();
      await events.close();
      await services.close();
    }
  });
});

describe('disk for temporary frames full', () => {
  const t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10', JOB_ATTEMPTS: '2', MIN_FREE_DISK_MB: '0' });
  const small = join(t.tmp, 'small-disk');
  mkdirSync(small, { recursive: true });
  let mounted = false;
  try {
    // 64 KiB: less than the tiny preset's frames (55 KiB) plus its MP4 headroom.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { stdio: 'ignore' });
    mounted = true;
  } catch {
    /* not root, or no mount in this sandbox: skipped below */
  }
  after(async () => {
    if (mounted) execFileSync('umount', [small]);
    await t.cleanup();
  });

  test('the job fails with a clear "disk is full" reason and nothing half-written is left', { skip: mounted ? false : 'cannot mount a small tmpfs here (needs root)' }, async () => {
    const config = { ...t.config, WORK_DIR: small };
    const services = createCommandServices(config);
    const events = new OwnedQueueEvents(config.QUEUE_NAME, config.REDIS_URL);
    const delivery = new CountingDelivery(config.OUTPUT_DIR);
    const worker = await startVideoWorker(config, { deliveries: [delivery] });
    try {
      await events.waitUntilReady();
      const job = await submit(t, services, 'a sandcastle');
      await assert.rejects(job.waitUntilFinished(events, 60_000), /disk is full/);
      const failure = delivery.failures.find((f) => f.jobId === job.id);
      assert.match(failure?.failure.message ?? '', /the worker's disk is full \(0 MiB free/);
      assert.equal((await services.queue.primary.queue.getJob(job.id!))?.attemptsMade, 2, 'retried before giving up');
      assert.deepEqual(existsSync(small) ? readdirSync(small) : [], []);
    } finally {
      await worker.close();
      await events.close();
      await services.close();
    }
  });
});
