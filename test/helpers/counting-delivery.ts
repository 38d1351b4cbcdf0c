// A real local-file delivery that also records every call and every status its outbound hears of, so tests can
// prove "delivered exactly once" and see the stages and failures a status message would show.
import type { JobRequest } from '../../src/queue/job-contract.ts';
import type { JobEvent, JobStatus } from '../../src/queue/job-events.ts';
import type { DeliverableVideo, StatusSurface, StatusWriteOutcome } from '../../src/platforms/platform.ts';
import { LocalFileDelivery } from '../../src/platforms/cli/local-file-delivery.ts';

export interface RecordedFailure {
  code: string;
  message: string;
}

export class CountingDelivery extends LocalFileDelivery {
  delivered: { jobId: string; video: DeliverableVideo }[] = [];
  failures: { jobId: string; failure: RecordedFailure }[] = [];
  progressed: { jobId: string; update: JobEvent }[] = [];

  override readonly status: StatusSurface = {
    paceMs: 1,
    paceKey: (status: JobStatus) => `counting:${status.jobId}`,
    // Every status this outbound heard of (the writer may coalesce what it writes; a test counts stages).
    heard: (status: JobStatus) => {
      const { event } = status;
      if (event.stage === 'failed') this.failures.push({ jobId: status.jobId, failure: { code: event.reason, message: event.detail ?? '' } });
      else if (event.stage === 'cancelled') this.failures.push({ jobId: status.jobId, failure: { code: 'cancelled', message: 'cancelled' } });
      else this.progressed.push({ jobId: status.jobId, update: event });
    },
    write: async (): Promise<StatusWriteOutcome> => ({ kind: 'shown' }),
  };

  override async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const receipt = await super.deliver(job, jobId, video);
    this.delivered.push({ jobId, video });
    return receipt;
  }

  deliveriesOf(jobId: string): number {
    return this.delivered.filter((d) => d.jobId === jobId).length;
  }
}
