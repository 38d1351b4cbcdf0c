// Posts a job's clip at most once per live attempt and exactly once where the platform can be asked: claim (tied to
// the job's lock), post (telling the platform when an earlier attempt died while posting), confirm.
import type { DeliverableVideo, PlatformOutbound } from '../../src/platforms/platform.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import type { DeliveryMarker, JobLock } from './delivery-marker.ts';
import { LockLostError } from './job-lock.ts';

export type Posted = { kind: 'posted'; receipt: Record<string, unknown>; claimToken: string } | { kind: 'already'; record: Record<string, unknown> };

export class PostingBusyError extends Error {
  override name = 'PostingBusyError';
}

/** Claims, then posts `video` through `delivery`; the caller confirms with `marker.confirm` once the result is built. */
export async function postOnce(marker: DeliveryMarker, delivery: Pick<PlatformOutbound, 'deliver'>, request: JobRequest, jobId: string, lock: JobLock, video: DeliverableVideo): Promise<Posted> {
  const claim = await marker.claim(request.requestId, lock);
  if (claim.kind === 'delivered') return { kind: 'already', record: claim.record };
  if (claim.kind === 'busy') throw new PostingBusyError('another attempt is posting this video right now');
  // Not a failure of the job: the worker that holds it now posts it; this attempt is discarded.
  if (claim.kind === 'lost') throw new LockLostError(jobId, 'its lock passed to another worker before posting');
  const earlier = claim.earlier ?? video.earlierAttempt;
  try {
    const receipt = await delivery.deliver(request, jobId, earlier ? { ...video, earlierAttempt: earlier } : video);
    return { kind: 'posted', receipt, claimToken: claim.token };
  } catch (err) {
    await marker.abandon(request.requestId, claim.token);
    throw err;
  }
}

