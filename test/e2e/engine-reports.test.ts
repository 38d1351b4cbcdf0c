// Everything the real engine reports reaches the worker: the decoding stage, and its tuning, per-step timings,
// recompiles and memory after each job in /metrics, the heartbeat and /gpu status. The model path is relative:
// it means the project's folder, not the engine's working directory.
import assert from 'node:assert/strict';
import { isAbsolute, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { fleetThresholds, renderFleetStatus } from '../../src/core/fleet-status.ts';
import { metricsRegistry } from '../../src/ops/metrics.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { readFleetSnapshot } from '../../src/queue/fleet-readings.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { REPO_ROOT, TINY_MODEL, testConfig } from '../helpers/test-config.ts';

const WORKER_ID = 'reports-w1';

describe('engine reports reach the worker', () => {
  // Relative to the project root (`../x` when the fixture lives outside it): the engine runs in worker/engine.
  const relativeModel = relative(REPO_ROOT, TINY_MODEL);
  const t = testConfig({ ENGINE_MODEL: relativeModel, WORKER_ID, HEARTBEAT_INTERVAL_MS: '300', QUOTA_MAX_PENDING_PER_USER: '10' });
  const services = createCommandServices(t.config);
  const events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
  const delivery = new CountingDelivery(t.config.OUTPUT_DIR);
  let worker: RunningWorker | undefined;
  let job: Job<JobRequest, JobResult>;
  let result: JobResult;

  before(async () => {
    assert.ok(!isAbsolute(relativeModel), relativeModel);
    await events.waitUntilReady();
    worker = await startVideoWorker(t.config, { deliveries: [delivery] });
    const ctx = recordingContext({ id: 'reports', target: { platform: 'cli', target: { outPath: `${t.tmp}/out.mp4` } } });
    await dispatch(commands.video, ctx, { prompt: 'a paper boat on a puddle', preset: 'tiny', seed: 5 }, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    job = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'completed'])).find((j) => j.data.prompt === 'a paper boat on a puddle') as Job<JobRequest, JobResult>;
    result = jobResultSchema.parse(await job.waitUntilFinished(events, 180_000));
  });
  after(async () => {
    await worker?.close();
    await events.close();
    await services.close();
    await t.cleanup();
  });

  test('a relative ENGINE_MODEL loads from the project root and the clip is made', () => {
    assert.equal(delivery.deliveriesOf(job.id!), 1);
    assert.equal(result.stats.frames, 9);
  });

  test('after the last denoising step the job shows "decoding", then encoding', () => {
    const stages = delivery.progressed.filter((p) => p.jobId === job.id).map((p) => ({ stage: p.update.stage, ...(p.update as { step?: number; steps?: number }) })).map((u) => `${u.stage}${u.step === undefined ? '' : ` ${u.step}/${u.steps}`}`);
    const decoding = stages.indexOf('decoding 2/2');
    assert.ok(decoding > stages.indexOf('generating 2/2') && stages.indexOf('generating 2/2') >= 0, stages.join(', '));
    assert.ok(stages.indexOf('encoding') > decoding, stages.join(', '));
  });

  test("/metrics carries the engine's tuning, its step timings, recompiles and memory after the job", async () => {
    const samples = parsePrometheus(await metricsRegistry.metrics());
    assert.equal(sampleValue(samples, 'cogcast_engine_info', { worker: WORKER_ID, device: 'cpu', attention: 'default', compiled: 'false' }), 1);
    assert.equal(sampleValue(samples, 'cogcast_engine_step_seconds_count', { preset: 'tiny' }), 2, 'one observation per denoising step');
    assert.equal(sampleValue(samples, 'cogcast_engine_recompiles', { worker: WORKER_ID }), 0);
    // On the CPU the engine reports no VRAM: those series stay absent rather than lie with zeros.
    assert.equal(sampleValue(samples, 'cogcast_engine_memory_allocated_bytes', { worker: WORKER_ID }), undefined);
    assert.equal(worker!.engine.report.lastMemory?.job_id, job.id);
    assert.equal(worker!.engine.report.lastMemory?.after_empty_cache, false);
  });

  test('the heartbeat and /gpu status carry the engine report', async () => {
    const deadline = Date.now() + 30_000;
    let text = '';
    for (;;) {
      const snapshot = await readFleetSnapshot(services.queue);
      const beat = snapshot.workers.find((w) => w.workerId === WORKER_ID);
      if (beat?.engine.report?.afterJob) {
        assert.deepEqual(beat.engine.report, { attention: 'default', compiled: false, recompiles: 0, lastPeakVramBytes: null, afterJob: { allocatedBytes: null, reservedBytes: null } });
        text = renderFleetStatus(snapshot, fleetThresholds(t.config));
        break;
      }
      assert.ok(Date.now() < deadline, 'no heartbeat with the engine report');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(text, /tuning: default attention · eager/);
  });
});
