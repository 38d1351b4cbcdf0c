// One model's BullMQ queue of video jobs (its lane, config/models.ts modelQueueName): enqueue, position, ETA, counts.
// The command layer reaches the lanes through VideoQueues (video-queues.ts), which routes each job by its preset's model.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Env } from '../../config/env.ts';
import { DEFAULT_MODEL, type ModelName, modelQueueName } from '../../config/models.ts';
import type { Preset, PresetBook } from '../../config/presets.ts';
import { UserFacingError } from '../core/errors.ts';
import { JOB_NAME, type JobRequest } from './job-contract.ts';
import type { JobEvents } from './job-events.ts';
import { JobDurations, type PresetTiming } from './job-durations.ts';
import type { Placement } from '../core/priority-tiers.ts';
import { GpuAllowance } from './gpu-allowance.ts';
import { queueEta } from './queue-estimates.ts';
import { positionOf } from './queue-order.ts';
import { refreshQueuePositions } from './queue-positions.ts';
import { liveModels } from './fleet-readings.ts';
import { cogcastKey } from './redis.ts';
import { logRedisErrors } from './redis-errors.ts';
import { WaitingCap } from './waiting-cap.ts';

export interface VideoQueueOptions {
  connection: Redis;
  /** The BullMQ queue name of this lane (modelQueueName). */
  name: string;
  /** QUEUE_NAME: the prefix of cogcast's own keys, shared by every lane (cancel flags, heartbeats, durations). */
  prefix: string;
  /** The model whose jobs wait here. */
  model: ModelName;
  presets: PresetBook;
  attempts: number;
  backoffMs: number;
  keepCompleted: number;
  keepFailed: number;
  maxWaiting: number;
  defaultSecondsPerStep: number;
  /** Where the queued event of a new job goes (its status message); none in processes that show no status. */
  events?: JobEvents;
}

/** A model's lane as configured: the same options in the bot and the worker, so both agree on retries and retention. */
export function videoQueueFromConfig(config: Env, connection: Redis, presets: PresetBook, model: ModelName, events?: JobEvents): VideoQueue {
  return new VideoQueue({
    connection,
    name: modelQueueName(config.QUEUE_NAME, model),
    prefix: config.QUEUE_NAME,
    model,
    presets,
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    keepCompleted: config.KEEP_COMPLETED_JOBS,
    keepFailed: config.KEEP_FAILED_JOBS,
    maxWaiting: config.QUEUE_MAX_WAITING,
    defaultSecondsPerStep: config.ETA_DEFAULT_SECONDS_PER_STEP,
    ...(events ? { events } : {}),
  });
}

export interface Enqueued {
  jobId: string;
  /** 1 = next to run. */
  position: number;
  etaSeconds: number;
}

export class VideoQueue {
  readonly queue: Queue<JobRequest>;
  readonly durations: JobDurations;
  /** Each user's GPU seconds today (priority tiers: past the allowance, relax). */
  readonly gpuSeconds: GpuAllowance;
  private readonly cap: WaitingCap;

  constructor(private readonly opts: VideoQueueOptions) {
    this.queue = logRedisErrors(new Queue<JobRequest>(opts.name, { connection: opts.connection }), 'queue');
    this.durations = new JobDurations(opts.connection, opts.prefix);
    this.gpuSeconds = new GpuAllowance(opts.connection, this.key());
    const q = this.queue;
    this.cap = new WaitingCap(opts.connection, { wait: q.toKey('wait'), paused: q.toKey('paused'), prioritized: q.toKey('prioritized'), places: this.key('waiting-places', ...(opts.model === DEFAULT_MODEL ? [] : [opts.model])) }, opts.maxWaiting);
  }

  /** Job events of this process (queued on enqueue; cancel paths publish through it too). */
  get events(): JobEvents | undefined {
    return this.opts.events;
  }

  get redis(): Redis {
    return this.opts.connection;
  }

  get model(): ModelName {
    return this.opts.model;
  }

  key(...parts: string[]): string {
    return cogcastKey(this.opts.prefix, ...parts);
  }

  /**
   * Adds the job (its id is the request id, so a repeated add is a no-op) where its tier places it
   * (src/core/priority-tiers.ts; default: the back of the wait list) and says where it stands.
   */
  async enqueue(request: JobRequest, placement: Pick<Placement, 'priority' | 'lifo'> = { priority: 0, lifo: false }, fleet: { served?: boolean } = {}): Promise<Enqueued> {
    // A place under QUEUE_MAX_WAITING first (atomic across bots), then the job; the place is freed either way.
    // Whether a worker holds the model: as the caller read it, else read here, before the add (once the job is in, a
    // worker may take it at once, and its first event must not find the queued one still being written).
    const [place, served] = await Promise.all([this.cap.take(request.requestId), fleet.served ?? (this.opts.events ? this.served() : true)]);
    if (!place.taken) throw new UserFacingError('queue_full', { waiting: place.waiting });
    try {
      await this.queue.add(JOB_NAME, request, {
        jobId: request.requestId,
        attempts: this.opts.attempts,
        backoff: { type: 'exponential', delay: this.opts.backoffMs },
        removeOnComplete: { count: this.opts.keepCompleted },
        removeOnFail: { count: this.opts.keepFailed },
        ...(placement.priority > 0 ? { priority: placement.priority } : {}),
        ...(placement.lifo ? { lifo: true } : {}),
      });
    } finally {
      await this.cap.giveBack(request.requestId).catch(() => undefined);
    }
    const position = (await this.position(request.requestId)) ?? 1;
    const enqueued = { jobId: request.requestId, position, etaSeconds: await this.eta(position, request.preset) };
    // The accepted answer is the status message's first state: it reaches the message as the queued event.
    // Attempt 1 is the attempt this job waits for; its worker's events belong to attempt 1 too, and outrank it.
    await this.opts.events?.publish({ jobId: enqueued.jobId, request }, 1, { stage: 'queued', position, etaSeconds: enqueued.etaSeconds, asOf: Date.now(), ...(served ? {} : { noWorker: true as const }) }).catch(() => undefined);
    // Placed ahead of jobs already waiting (a priority user, a fair-share turn): they are told their new places.
    if (this.opts.events && position < (await this.waitingCount())) void refreshQueuePositions(this, this.opts.events).catch(() => undefined);
    return enqueued;
  }

  /** Whether a live worker holds this lane's model (its heartbeat is current). */
  async served(): Promise<boolean> {
    return (await liveModels(this)).models.has(this.opts.model);
  }

  /** 1-based place among waiting jobs in the order workers take them (queue-order.ts), or null when not waiting. */
  async position(jobId: string): Promise<number | null> {
    return positionOf(this, jobId);
  }

  /** Jobs waiting for a worker: the wait list and the prioritized set (fair-share turns, relax). */
  async waitingCount(): Promise<number> {
    const [wait, prioritized] = await Promise.all([this.redis.llen(this.queue.toKey('wait')), this.redis.zcard(this.queue.toKey('prioritized'))]);
    return wait + prioritized;
  }

  /** Seconds until a job of `presetName` at `position` finishes: each job ahead at its own preset's pace (queue-estimates). */
  async eta(position: number, presetName: string): Promise<number> {
    return queueEta(this, position, presetName, (name) => this.guess(this.opts.presets.byName.get(name)));
  }

  /** Before any job of a preset was timed: its steps at the default pace, the whole job counted as denoising. */
  private guess(preset: Preset | undefined): PresetTiming {
    const denoiseS = (preset?.steps ?? 50) * this.opts.defaultSecondsPerStep;
    return { totalS: Math.round(denoiseS + 10), denoiseS };
  }

  async counts(): Promise<{ waiting: number; active: number; delayed: number; failed: number; completed: number }> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0 };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
