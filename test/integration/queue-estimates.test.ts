// The ETA a user is told, read from a real queue: jobs ahead of mixed presets priced at their own recorded
// durations, and the job a worker is running priced by its remaining steps.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'bullmq';
import { createCommandServices } from '../../src/app-services.ts';
import { JOB_PAYLOAD_VERSION, type JobRequest } from '../../src/queue/job-contract.ts';
import { readQueueSnapshot } from '../../src/queue/queue-estimates.ts';
import { workerConnection } from '../../src/queue/redis.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

function request(preset: string): JobRequest {
  return {
    v: JOB_PAYLOAD_VERSION,
    requestId: randomUUID(),
    prompt: `a clip of ${preset}`,
    negativePrompt: '',
    preset,
    seed: 1,
    user: { id: 'eta', name: 'eta', platform: 'cli' },
    delivery: { platform: 'cli', target: {} },
    createdAt: Date.now(),
  };
}

describe('queue ETAs on real Redis', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let worker: Worker;
  let connection: ReturnType<typeof workerConnection>;

  before(async () => {
    t = testConfig({ QUEUE_MAX_WAITING: '50' });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
    connection = workerConnection(t.config.REDIS_URL);
    // A worker that takes jobs by hand: the job it holds is "running" for as long as the test likes.
    worker = new Worker(t.config.QUEUE_NAME, null, { connection, autorun: false });
    await worker.waitUntilReady();
  });
  after(async () => {
    await worker.close();
    connection.disconnect();
    await services.close();
    await t.cleanup();
  });

  test('a short job behind a long one is told the long one\'s time, and the running job counts by its steps', async () => {
    // Recorded medians: tiny-slow takes 12 s (10 s denoising), tiny 1 s.
    for (const s of [11, 12, 13]) await services.queue.durations.record('tiny-slow', s, s - 2);
    for (const s of [0.9, 1, 1.1]) await services.queue.durations.record('tiny', s, 0.5);

    await services.queue.enqueue(request('tiny-slow'));
    const token = randomUUID();
    const running = await worker.getNextJob(token);
    assert.ok(running, 'the worker holds the first job');
    await running.updateProgress({ stage: 'generating', step: 6, steps: 12 });

    await services.queue.enqueue(request('tiny-slow'));
    const queuedShort = await services.queue.enqueue(request('tiny'));
    assert.equal(queuedShort.position, 2);

    const snapshot = await readQueueSnapshot(services.queue.primary, queuedShort.position);
    assert.deepEqual(snapshot.ahead, ['tiny-slow']);
    assert.deepEqual(snapshot.running.map((r) => [r.preset, r.progress && 'step' in r.progress ? r.progress.step : undefined]), [['tiny-slow', 6]]);
    // Running: half its 10 s of steps left plus its 2 s tail = 7 s; then the waiting tiny-slow (12 s); then ours (1 s).
    assert.equal(queuedShort.etaSeconds, 7 + 12 + 1);
    // The old pricing (every job at the new job's preset) said 3 s.
    assert.ok(queuedShort.etaSeconds > 3 * 1);

    await running.updateProgress({ stage: 'generating', step: 12, steps: 12 });
    assert.equal(await services.queue.primary.eta(2, 'tiny'), Math.round(2 + 12 + 1), 'the ETA follows the running job\'s progress');
    await running.moveToCompleted({}, token, false);
  });
});
