// ffmpeg failing: a flaky encode is retried and delivered once; a broken one is reported, leaving no temp files.
// Its own file because fluent-ffmpeg caches the binary's path per process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Job, QueueEvents } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import type { JobRequest, JobResult } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { startVideoWorker } from '../../worker/video-worker.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

async function submit(t: TestConfig, services: ReturnType<typeof createCommandServices>, prompt: string): Promise<Job<JobRequest, JobResult>> {
  const ctx = recordingContext({ id: 'faults', target: { platform: 'cli', target: { outPath: join(t.tmp, `${Date.now()}.mp4`) } } });
  await dispatch(commands.video, ctx, { prompt }, services);
  assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
  const job = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active'])).find((j) => j.data.prompt === prompt);
  assert.ok(job);
  return job as Job<JobRequest, JobResult>;
}

describe('ffmpeg failing', () => {
  // A stand-in for a flaky ffmpeg binary: fails the first encode, then hands over to the real one.
  const t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10', JOB_ATTEMPTS: '2' });
  const realFfmpeg = execFileSync('which', ['ffmpeg']).toString().trim();
  const script = join(t.tmp, 'ffmpeg');
  const failures = join(t.tmp, 'ffmpeg-failures');
  writeFileSync(failures, '1');
  writeFileSync(
    script,
    `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-version" ] && exec ${realFfmpeg} "$@"; done\nn=$(cat ${failures}); if [ "$n" -gt 0 ]; then echo $((n-1)) > ${failures}; echo "simulated encoder crash" >&2; exit 1; fi\nexec ${realFfmpeg} "$@"\n`,
  );
  chmodSync(script, 0o755);
  process.env.FFMPEG_PATH = script;
  after(() => t.cleanup());

  test('a failed encode is retried and the video delivered once; a persistent failure tells the user and leaves no temp files', async () => {
    const services = createCommandServices(t.config);
    const events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
    const delivery = new CountingDelivery(t.config.OUTPUT_DIR);
    const worker = await startVideoWorker(t.config, { deliveries: [delivery] });
    try {
      await events.waitUntilReady();
      const job = await submit(t, services, 'a kite over a field');
      await job.waitUntilFinished(events, 120_000);
      const done = await services.queue.primary.queue.getJob(job.id!);
      assert.match(done?.stacktrace?.[0] ?? '', /ffmpeg failed/);
      assert.equal(delivery.deliveriesOf(job.id!), 1);

      writeFileSync(failures, '99');
      const doomed = await submit(t, services, 'a kite in a storm');
      await assert.rejects(doomed.waitUntilFinished(events, 120_000), /ffmpeg failed/);
      const failure = delivery.failures.find((f) => f.jobId === doomed.id);
      assert.equal(failure?.failure.code, 'engine_failed');
      assert.match(failure?.failure.message ?? '', /ffmpeg failed.*simulated encoder crash/);
      assert.equal(delivery.deliveriesOf(doomed.id!), 0);
      assert.deepEqual(readdirSync(t.config.WORK_DIR), [], 'temporary frames and MP4s are removed after success and failure');
      assert.deepEqual(await services.quota.pendingJobs('cli:faults'), []);
    } finally {
      await worker.close();
      await events.close();
      await services.close();
    }
  });
});

