// The web platform's outbound side: the one writer of what each browser sees of its jobs. Job events (BullMQ
// QueueEvents) become views pushed to that user's open pages; queued jobs' places refresh whenever the queue
// moves. Nobody polls.
import type { Logger } from 'pino';
import { parseJobRequest } from '../../queue/job-contract.ts';
import { type JobEvent, jobEventSchema } from '../../queue/job-events.ts';
import { JobStatusStore } from '../../queue/job-status-store.ts';
import { OwnedQueueEvents } from '../../queue/queue-events.ts';
import type { RedisEndpoint } from '../../queue/redis.ts';
import { remainingSeconds } from '../../queue/queue-estimates.ts';
import type { VideoQueues } from '../../queue/video-queues.ts';
import { cancelledView, doneView, eventView, type WebJobView, viewOfJob, webOwner } from './web-job-view.ts';

export type ViewListener = (view: WebJobView) => void;

const OWNER_CACHE_LIMIT = 5000;
const REFRESH_DELAY_MS = 150;

export class WebJobFeed {
  /** One event stream per model lane: the page follows jobs of every model. */
  private readonly events: OwnedQueueEvents[];
  private readonly listeners = new Map<string, Set<ViewListener>>();
  /** jobId -> its web owner (null: another platform's job), so progress events need no Redis read. */
  private readonly owners = new Map<string, string | null>();
  /** The last view sent per job, the base the next event updates. */
  private readonly lastViews = new Map<string, WebJobView>();
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Per job, the tail of its events still being applied (soon()). */
  private readonly inOrder = new Map<string, Promise<void>>();
  /** The job status records (src/queue/job-events.ts): why a job failed, in the catalogue's words. */
  private readonly statuses: JobStatusStore;

  constructor(
    private readonly queue: VideoQueues,
    redis: RedisEndpoint,
    private readonly log: Logger,
  ) {
    this.statuses = new JobStatusStore(queue.redis, queue.key());
    this.events = [...queue.lanes.values()].map((lane) => this.follow(new OwnedQueueEvents(lane.queue.name, redis)));
  }

  private follow(events: OwnedQueueEvents): OwnedQueueEvents {
    const log = this.log;
    events.on('error', (err) => log.warn({ err: err.message }, 'web job events: Redis error'));
    events.on('waiting', ({ jobId }) => {
      this.soon(jobId, async () => this.fresh(jobId));
      // A new job may be placed ahead of others (a priority user, a fair-share turn): their places move back.
      this.refreshQueued();
    });
    events.on('active', ({ jobId }) => {
      this.soon(jobId, async () => this.fresh(jobId));
      this.refreshQueued();
    });
    events.on('progress', ({ jobId, data }) => {
      const event = jobEventSchema.safeParse(data);
      if (event.success) this.soon(jobId, async (last) => (last ? eventView(last, event.data, await this.remaining(last.preset, event.data)) : this.fresh(jobId)));
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      this.soon(jobId, async (last) => (last ? doneView(last, parseMaybe(returnvalue)) : this.fresh(jobId)));
      this.refreshQueued();
    });
    events.on('failed', ({ jobId }) => {
      // Read back: the state says whether this was the last attempt, and failedView reads its reason.
      this.soon(jobId, async () => this.fresh(jobId));
      this.refreshQueued();
    });
    events.on('removed', ({ jobId }) => {
      this.soon(jobId, async (last) => (last ? cancelledView(last) : null));
      this.refreshQueued();
    });
    return events;
  }

  async start(): Promise<void> {
    await Promise.all(this.events.map((events) => events.waitUntilReady()));
  }

  /** Follows `userId`'s jobs; returns the unsubscribe function. */
  subscribe(userId: string, listener: ViewListener): () => void {
    let set = this.listeners.get(userId);
    if (!set) this.listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(userId);
    };
  }

  /** The job as it stands now, remembered as the base for its next events. */
  async view(jobId: string): Promise<WebJobView | null> {
    const found = await this.queue.findJob(jobId);
    if (!found) return null;
    const { job, lane } = found;
    const view = await viewOfJob(job, lane, (id) => this.statuses.get(id));
    if (!view) return null;
    this.lastViews.set(jobId, view);
    if (!this.owners.has(jobId)) this.rememberOwner(jobId, webOwner(parseJobRequest(job.data)));
    return view;
  }

  /** A job this process just accepted: its owner is known without a read. */
  remember(jobId: string, userId: string): void {
    this.rememberOwner(jobId, userId);
  }

  private async fresh(jobId: string): Promise<WebJobView | null> {
    return this.view(jobId);
  }

  /**
   * Runs `next` for a job of a user with an open page, and sends what it returns. A job's events are applied one
   * after the other in the order they arrived: a view that needs a Redis read (the 'active' read-back, a step's
   * ETA) must not land after a later one that needed none (done), or the page would go back to an older state.
   */
  private soon(jobId: string, next: (last: WebJobView | undefined) => Promise<WebJobView | null>): void {
    const run = async () => {
      const owner = await this.ownerOf(jobId);
      if (owner === null || !this.listeners.has(owner)) return;
      const view = await next(this.lastViews.get(jobId));
      if (!view) return;
      this.lastViews.set(jobId, view);
      if (view.state === 'done' || view.state === 'failed' || view.state === 'cancelled') this.forgetLater(jobId);
      for (const listener of this.listeners.get(owner) ?? []) listener(view);
    };
    const previous = this.inOrder.get(jobId) ?? Promise.resolve();
    const chained = previous.then(run).catch((err: Error) => this.log.warn({ jobId, err: err.message }, 'web job event not shown'));
    this.inOrder.set(jobId, chained);
    void chained.finally(() => {
      if (this.inOrder.get(jobId) === chained) this.inOrder.delete(jobId);
    });
  }

  /** The queue moved: every queued job someone is watching gets its new place and ETA. */
  private refreshQueued(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      for (const [jobId, view] of this.lastViews) {
        if (view.state === 'queued') this.soon(jobId, async () => this.fresh(jobId));
      }
    }, REFRESH_DELAY_MS);
  }

  private async remaining(preset: string, event: JobEvent): Promise<number | null> {
    if (event.stage !== 'generating') return null;
    const timing = (await this.queue.durations.timings([preset])).get(preset);
    return timing ? remainingSeconds(timing, event) : null;
  }

  private async ownerOf(jobId: string): Promise<string | null> {
    if (this.owners.has(jobId)) return this.owners.get(jobId) ?? null;
    const job = await this.queue.getJob(jobId);
    let owner: string | null = null;
    try {
      owner = job ? webOwner(parseJobRequest(job.data)) : null;
    } catch {
      owner = null;
    }
    if (job) this.rememberOwner(jobId, owner);
    return owner;
  }

  private rememberOwner(jobId: string, owner: string | null): void {
    if (this.owners.size >= OWNER_CACHE_LIMIT) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(jobId, owner);
  }

  private forgetLater(jobId: string): void {
    setTimeout(() => this.lastViews.delete(jobId), 60_000).unref();
  }

  async close(): Promise<void> {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.listeners.clear();
    await Promise.all(this.events.map((events) => events.close()));
  }
}

function parseMaybe(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
