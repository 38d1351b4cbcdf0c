// Cancelling a job from any process: waiting jobs are removed, running ones are signalled to their worker.
import type { Redis } from 'ioredis';
import { UserFacingError } from '../core/errors.ts';
import { VideoQueue } from './video-queue.ts';
import type { VideoQueues } from './video-queues.ts';
import { parseJobRequest } from './job-contract.ts';
import { refreshQueuePositions } from './queue-positions.ts';
import { type GateKeys, enterPosting, isPosting, signalCancel } from './cancel-gate.ts';

/** removed: it was waiting and is gone; signalled: its worker stops it; too_late: it is being posted. */
export type CancelOutcome = 'removed' | 'signalled' | 'too_late';

export interface CancelResult {
  outcome: CancelOutcome;
  /** The job's owner (`platform:id`), whose pending slot a removed job gives back, whoever cancelled it. */
  owner: string;
}

/** Any lane or the lanes together: cancellation's keys are shared by every lane. */
type Keyed = Pick<VideoQueue, 'key' | 'redis'>;

export function cancelChannel(queue: Keyed): string {
  return queue.key('cancel');
}

function gateKeys(queue: Keyed, jobId: string): GateKeys {
  return { cancelFlag: queue.key('cancelled', jobId), posting: queue.key('posting', jobId) };
}

/**
 * Cancels `jobId` on behalf of `userKey` (`platform:id`); admins may cancel anyone's job. A waiting job is
 * removed here, so its cancelled event is published here (no worker will ever see it); a running one is
 * signalled, and its worker publishes cancelled once the engine has stopped.
 */
export async function requestCancel(queue: VideoQueue | VideoQueues, jobId: string, userKey: string, isAdmin: boolean): Promise<CancelOutcome> {
  return (await cancelJob(queue, jobId, userKey, isAdmin)).outcome;
}

/** As requestCancel, also naming the job's owner. */
export async function cancelJob(queues: VideoQueue | VideoQueues, jobId: string, userKey: string, isAdmin: boolean): Promise<CancelResult> {
  const found = queues instanceof VideoQueue ? { job: await queues.queue.getJob(jobId), lane: queues } : await queues.findJob(jobId);
  if (!found?.job) throw new UserFacingError('job_not_found');
  const { job, lane: queue } = found;
  const request = parseJobRequest(job.data);
  const owner = `${request.user.platform}:${request.user.id}`;
  if (owner !== userKey && !isAdmin) throw new UserFacingError('not_your_job');
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') throw new UserFacingError('job_finished');
  const keys = gateKeys(queue, jobId);
  // A job back in the queue after its worker died while posting will be posted by the next attempt.
  if (await isPosting(queue.redis, keys)) return { outcome: 'too_late', owner };
  if (state !== 'active') {
    try {
      await job.remove();
      if (queue.events) {
        await queue.events.publish({ jobId, request }, job.attemptsStarted + 1, { stage: 'cancelled' }).catch(() => undefined);
        void refreshQueuePositions(queue, queue.events).catch(() => undefined);
      }
      return { outcome: 'removed', owner };
    } catch {
      // A worker took it between getState and remove (it is locked): signal it like a running job.
    }
  }
  const signalled = await signalCancel(queue.redis, keys, userKey, cancelChannel(queue), jobId);
  return { outcome: signalled ? 'signalled' : 'too_late', owner };
}

/** True when a cancel was asked for (the publish may have been missed, or came during a stage that ignores it). */
export async function wasCancelled(queue: Keyed, jobId: string): Promise<boolean> {
  return (await queue.redis.exists(gateKeys(queue, jobId).cancelFlag)) === 1;
}

/** The worker starts posting `jobId`: false when a cancel came first (the job must stop), else cancels are too late from now on. */
export async function startPosting(queue: Keyed, jobId: string): Promise<boolean> {
  return enterPosting(queue.redis, gateKeys(queue, jobId));
}

/** Calls `onCancel(jobId)` for every cancel request; `subscriber` must be a dedicated connection. */
export async function listenForCancels(subscriber: Redis, queue: Keyed, onCancel: (jobId: string) => void): Promise<void> {
  const channel = cancelChannel(queue);
  subscriber.on('message', (ch: string, jobId: string) => {
    if (ch === channel) onCancel(jobId);
  });
  await subscriber.subscribe(channel);
}
