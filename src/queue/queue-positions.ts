// Refreshed places in line: when a job leaves the waiting list (a worker took it, or it was cancelled), every
// job still waiting is told its new position and ETA through a queued event (its writer paces the edits).
import type { JobEvents } from './job-events.ts';
import type { VideoQueue } from './video-queue.ts';

/** Publishes a queued event with the current position to each waiting job whose status still says queued. */
export async function refreshQueuePositions(queue: VideoQueue, events: JobEvents): Promise<void> {
  // BullMQ pushes new jobs on the left and takes from the right: the last id is next in line.
  const waiting = await queue.redis.lrange(queue.queue.toKey('wait'), 0, -1);
  for (let index = waiting.length - 1; index >= 0; index--) {
    const jobId = waiting[index]!;
    const current = await events.store.get(jobId);
    if (current?.event.stage !== 'queued') continue; // a retry waiting again keeps its last progress
    const position = waiting.length - index;
    if (position >= current.event.position) continue; // nothing new to say
    await events.republish(current, { stage: 'queued', position, etaSeconds: await queue.eta(position, current.preset) });
  }
}
