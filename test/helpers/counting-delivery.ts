// A real local-file delivery that also records every call, so tests can prove "delivered exactly once".
import type { JobProgress, JobRequest } from '../../src/queue/job-contract.ts';
import type { DeliverableVideo, DeliveryFailure } from '../../src/platforms/delivery.ts';
import { LocalFileDelivery } from '../../src/platforms/cli/local-file-delivery.ts';

export class CountingDelivery extends LocalFileDelivery {
  delivered: { jobId: string; video: DeliverableVideo }[] = [];
  failures: { jobId: string; failure: DeliveryFailure }[] = [];
  progressed: { jobId: string; update: JobProgress }[] = [];

  override async progress(_job: JobRequest, jobId: string, update: JobProgress): Promise<void> {
    this.progressed.push({ jobId, update });
  }

  override async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const receipt = await super.deliver(job, jobId, video);
    this.delivered.push({ jobId, video });
    return receipt;
  }

  override async fail(_job: JobRequest, jobId: string, failure: DeliveryFailure): Promise<void> {
    this.failures.push({ jobId, failure });
  }

  deliveriesOf(jobId: string): number {
    return this.delivered.filter((d) => d.jobId === jobId).length;
  }
}
