// Cancelling a job from any process: waiting jobs are removed, running ones are signalled to their worker.
import type { Redis } from 'ioredis';
import { UserFacingError } from '../core/errors.ts';
import type { VideoQueue } from './video-queue.ts';
import { parseJobRequest } from './job-contract.ts';
import { refreshQueuePositions } from './queue-positions.ts';

export type CancelOutcome = 'removed' | 'signalled';

const CANCEL_TTL_S = 3600;

export function cancelChannel(queue: VideoQueue): string {
  return queue.key('cancel');
}

function cancelFlag(queue: VideoQueue, jobId: string): string {
  return queue.key('cancelled', jobId);
}

/**
 * Cancels `jobId` on behalf of `userKey` (`platform:id`); admins may cancel anyone's job. A waiting job is
 * removed here, so its cancelled event is published here (no worker will ever see it); a running one is
 * signalled, and its worker publishes cancelled once the engine has stopped.
 */
export async function requestCancel(queue: VideoQueue, jobId: string, userKey: string, isAdmin: boolean): Promise<CancelOutcome> {
  const job = await queue.queue.getJob(jobId);
  if (!job) throw new UserFacingError('job_not_found');
  const request = parseJobRequest(job.data);
  if (`${request.user.platform}:${request.user.id}` !== userKey && !isAdmin) throw new UserFacingError('not_your_job');
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') throw new UserFacingError('job_finished');
  if (state !== 'active') {
    try {
      await job.remove();
      if (queue.events) {
        await queue.events.publish({ jobId, request }, job.attemptsStarted + 1, { stage: 'cancelled' }).catch(() => undefined);
        void refreshQueuePositions(queue, queue.events).catch(() => undefined);
      }
      return 'removed';
    } catch {
      // A worker took it between getState and remove (it is locked): signal it like a running job.
    }
  }
  await queue.redis.multi().set(cancelFlag(queue, jobId), userKey, 'EX', CANCEL_TTL_S).publish(cancelChannel(queue), jobId).exec();
  return 'signalled';
}

/** True when a cancel was asked for before the worker got the job (the publish may have been missed). */
export async function wasCancelled(queue: VideoQueue, jobId: string): Promise<boolean> {
  return (await queue.redis.exists(cancelFlag(queue, jobId))) === 1;
}

/** Calls `onCancel(jobId)` for every cancel request; `subscriber` must be a dedicated connection. */
export async function listenForCancels(subscriber: Redis, queue: VideoQueue, onCancel: (jobId: string) => void): Promise<void> {
  const channel = cancelChannel(queue);
  subscriber.on('message', (ch: string, jobId: string) => {
    if (ch === channel) onCancel(jobId);
  });
  await subscriber.subscribe(channel);
}
