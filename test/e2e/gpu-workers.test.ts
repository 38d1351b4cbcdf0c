// `npm run workers` in-process: two "GPU workers" (WORKER_GPUS=0,1; on a CPU machine CUDA_VISIBLE_DEVICES is only
// passed through) with the tiny engine pull from one queue: both take jobs, and every job is delivered exactly once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { type RunningGpuWorkers, startGpuWorkers } from '../../worker/gpu-workers.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const JOBS = 6;

describe('GPU workers: one per GPU, one queue', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let fleet: RunningGpuWorkers | undefined;
  let events: OwnedQueueEvents;
  let delivery: CountingDelivery;

  before(async () => {
    t = testConfig({ WORKER_GPUS: '0,1', WORKER_ID: 'e2e-host', QUOTA_MAX_PENDING_PER_USER: '20', QUOTA_MAX_JOBS_PER_HOUR: '100' });
    services = createCommandServices(t.config);
    delivery = new CountingDelivery(t.config.OUTPUT_DIR);
    events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
    await events.waitUntilReady();
    fleet = await startGpuWorkers(t.config, { deliveries: [delivery] });
  });
  after(async () => {
    await events.close();
    await fleet?.close();
    await services.close();
    await t.cleanup();
  });

  async function submit(prompt: string, seed: number): Promise<Job<JobRequest, JobResult>> {
    const ctx = recordingContext({ id: 'gpus', target: { platform: 'cli', target: { outPath: join(t.tmp, `${seed}.mp4`) } } });
    await dispatch(commands.video, ctx, { prompt, seed }, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    const jobs = await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed']);
    const job = jobs.find((j) => j.data.prompt === prompt);
    assert.ok(job, `job for ${prompt}`);
    return job as Job<JobRequest, JobResult>;
  }

  test('one worker per listed GPU, named after it, each engine seeing only its own GPU', () => {
    assert.deepEqual(fleet!.workers.map((w) => w.id), ['e2e-host-gpu0', 'e2e-host-gpu1']);
    for (const [index, worker] of fleet!.workers.entries()) {
      const environ = readFileSync(`/proc/${worker.engine.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes(`CUDA_VISIBLE_DEVICES=${index}`), `${worker.id}'s engine has CUDA_VISIBLE_DEVICES=${index}`);
    }
    assert.equal(fleet!.health.state, 'idle');
  });

  test('jobs from one queue are shared by both workers and each is delivered exactly once', async () => {
    const jobs: Job<JobRequest, JobResult>[] = [];
    for (let i = 0; i < JOBS; i += 1) jobs.push(await submit(`a lantern number ${i} on a quiet river`, 100 + i));
    const results = await Promise.all(jobs.map(async (job) => jobResultSchema.parse(await job.waitUntilFinished(events, 120_000))));

    const byWorker = new Map<string, number>();
    for (const result of results) byWorker.set(result.stats.workerId, (byWorker.get(result.stats.workerId) ?? 0) + 1);
    assert.deepEqual([...byWorker.keys()].sort(), ['e2e-host-gpu0', 'e2e-host-gpu1'], `jobs by worker: ${JSON.stringify([...byWorker])}`);
    for (const job of jobs) assert.equal(delivery.deliveriesOf(job.id!), 1, `job ${job.id} delivered once`);
    assert.equal(delivery.delivered.length, JOBS);
    assert.ok(results.every((r) => !r.alreadyDelivered && !r.stats.cached));
  });
});
