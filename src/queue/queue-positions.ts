// Refreshed places in line: when the waiting jobs move (a worker took one, one was cancelled, a priority job or a
// fair-share turn went ahead of others), every job still waiting is told its new position and ETA through a queued
// event (its writer paces the edits). A place can move back as well as forward.
import type { JobEvents } from './job-events.ts';
import { waitingInOrder } from './queue-order.ts';
import type { VideoQueue } from './video-queue.ts';

// Per queue object: the refresh running now, and whether the queue moved again since it read the order. A burst of
// moves (1,000 requests at once) costs one refresh running plus one after it, not one full pass per move.
const refreshes = new WeakMap<VideoQueue, { running: Promise<void>; again: boolean }>();

/**
 * Publishes a queued event with the current position to each waiting job whose status still says queued. Calls
 * made while a refresh runs are folded into one more pass after it; the promise settles once the queue as it stood
 * at the call has been told.
 */
export function refreshQueuePositions(queue: VideoQueue, events: JobEvents): Promise<void> {
  const current = refreshes.get(queue);
  if (current) {
    current.again = true;
    return current.running;
  }
  const state = { running: Promise.resolve(), again: false };
  state.running = (async () => {
    try {
      do {
        state.again = false;
        await refreshOnce(queue, events);
      } while (state.again);
    } finally {
      refreshes.delete(queue);
    }
  })();
  refreshes.set(queue, state);
  return state.running;
}

async function refreshOnce(queue: VideoQueue, events: JobEvents): Promise<void> {
  const asOf = Date.now();
  const waiting = await waitingInOrder(queue);
  // Read once a pass: a job accepted while no worker held its model is told once one does.
  const served = waiting.length > 0 ? await queue.served() : true;
  for (const [index, jobId] of waiting.entries()) {
    const current = await events.store.get(jobId);
    if (current?.event.stage !== 'queued') continue; // a retry waiting again keeps its last progress
    const position = index + 1;
    if (position === current.event.position && Boolean(current.event.noWorker) === !served) continue; // nothing new to say
    await events.republish(current, { stage: 'queued', position, etaSeconds: await queue.eta(position, current.preset), asOf, ...(served ? {} : { noWorker: true as const }) });
  }
}
