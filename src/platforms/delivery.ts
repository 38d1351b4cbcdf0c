// The delivery interface each chat platform implements on the worker side, and the router between them.
import type { Platform } from '../core/chat-context.ts';
import type { UserErrorCode } from '../core/errors.ts';
import type { JobStats } from '../core/stats.ts';
import type { JobProgress, JobRequest } from '../queue/job-contract.ts';

export interface DeliverableVideo {
  path: string;
  bytes: number;
  width: number;
  height: number;
  durationS: number;
  stats: JobStats;
  /** What this platform said when it last posted the same clip (e.g. a Telegram file_id): re-send, no upload. */
  previousReceipt?: Record<string, unknown>;
  /**
   * Set when an earlier attempt of this job died while posting this clip (claimed at `claimedAt`, never confirmed):
   * its post may have landed. A platform that can read back checks before posting; one that cannot marks the re-send.
   */
  earlierAttempt?: { claimedAt: number };
}

export interface DeliveryFailure {
  code: UserErrorCode;
  message: string;
}

export interface Delivery {
  readonly platform: Platform;
  /** Shows the job's progress to the user; throttled by the implementation, never throws. */
  progress(job: JobRequest, jobId: string, update: JobProgress & { position?: number }): Promise<void>;
  /** Posts the video; resolves with what the platform returned (message id, file id...). */
  deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>>;
  /** Tells the user the job failed for good (or was cancelled); never throws. */
  fail(job: JobRequest, jobId: string, failure: DeliveryFailure): Promise<void>;
}

export class DeliveryRouter {
  private readonly byPlatform = new Map<Platform, Delivery>();

  register(delivery: Delivery): this {
    this.byPlatform.set(delivery.platform, delivery);
    return this;
  }

  for(platform: Platform): Delivery {
    const delivery = this.byPlatform.get(platform);
    if (!delivery) throw new Error(`no delivery configured for platform "${platform}" on this worker`);
    return delivery;
  }
}
