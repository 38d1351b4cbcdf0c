// Feeds the Prometheus metrics from this worker's events (stage durations, outcomes) and from its engine's.
import type { Worker } from 'bullmq';
import { countJobOutcome, recordJobStages } from '../../src/ops/metrics.ts';
import { jobResultSchema } from '../../src/queue/job-contract.ts';
import type { EngineClient } from '../engine-client/engine-client.ts';
import { observeEngineMetrics } from './engine-metrics.ts';
import { attemptOutcome } from './worker-activity.ts';

export function observeJobMetrics(worker: Worker, engine: EngineClient, workerId: string): void {
  worker.on('completed', (_job, result) => {
    countJobOutcome('completed');
    const parsed = jobResultSchema.safeParse(result);
    // A result an earlier attempt delivered carries that attempt's timings: counting them again would skew.
    if (parsed.success && !parsed.data.alreadyDelivered) recordJobStages(parsed.data.stats);
  });
  worker.on('failed', (job, err) => {
    if (job) countJobOutcome(attemptOutcome(job, err));
  });
  observeEngineMetrics(engine, workerId);
}
