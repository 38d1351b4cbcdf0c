// A processor whose errors leave it scrubbed: BullMQ stores their message as the job's failedReason and their stack
// in its stacktrace (Redis, the dashboard), and the worker's heartbeat and /gpu status quote them.
import type { Processor } from 'bullmq';
import { scrubError, scrubSecrets } from '../../src/core/scrub-secrets.ts';

export function scrubbedProcessor<D, R>(processor: Processor<D, R>): Processor<D, R> {
  return async (job, token, signal) => {
    try {
      return await processor(job, token, signal);
    } catch (err) {
      // Scrubbed in place: the error's class (UnrecoverableError, DelayedError...) still decides the retry.
      throw err instanceof Error ? scrubError(err) : new Error(scrubSecrets(String(err)));
    }
  };
}
