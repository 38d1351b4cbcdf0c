// The worker's side of the web platform: the clip stays where the worker stored it (OUTPUT_DIR), and the page
// follows the job's events itself, so progress and failure need nothing here.
import type { DeliverableVideo, Delivery } from '../delivery.ts';
import type { JobRequest } from '../../queue/job-contract.ts';

export class WebDelivery implements Delivery {
  readonly platform = 'web' as const;

  async progress(): Promise<void> {}

  async deliver(_job: JobRequest, _jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    return { path: video.path };
  }

  async fail(): Promise<void> {}
}
