// The web platform's outbound side in the worker: the clip stays where the worker stored it (OUTPUT_DIR), which
// the page serves to its owner. No status surface here: the page's status is pushed from the job events by the
// bot process that serves it (web-job-feed.ts), as the CLI's is rendered by the CLI process.
import type { JobRequest } from '../../queue/job-contract.ts';
import type { DeliverableVideo, PlatformOutbound, StatusSurface } from '../platform.ts';

export class WebOutbound implements PlatformOutbound {
  readonly platform = 'web' as const;
  readonly status: StatusSurface | null = null;

  uploadLimitBytes(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  async deliver(_job: JobRequest, _jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    return { path: video.path };
  }
}
