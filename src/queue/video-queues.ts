// Every model's lane of the video queue, as the command layer sees it: each job goes to the lane of its preset's
// model, where only the workers holding that model take it (AI Horde's routing, in BullMQ terms: one queue a model).
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Env } from '../../config/env.ts';
import { DEFAULT_MODEL, type ModelName } from '../../config/models.ts';
import { type PresetBook, modelsOf, presetModel } from '../../config/presets.ts';
import type { Placement } from '../core/priority-tiers.ts';
import type { JobRequest } from './job-contract.ts';
import type { JobEvents } from './job-events.ts';
import { cogcastKey } from './redis.ts';
import { type Enqueued, VideoQueue, videoQueueFromConfig } from './video-queue.ts';

export class VideoQueues {
  /** One lane per model some preset runs, in the presets file's order. */
  readonly lanes: ReadonlyMap<ModelName, VideoQueue>;

  constructor(
    private readonly config: Env,
    private readonly connection: Redis,
    private readonly presets: PresetBook,
    readonly events?: JobEvents,
  ) {
    const models = modelsOf(presets);
    this.lanes = new Map(models.map((model) => [model, videoQueueFromConfig(config, connection, presets, model, events)]));
  }

  get redis(): Redis {
    return this.connection;
  }

  /** The first model's lane (cogvideox-2b's when a preset runs it): the one lane of a single-model deployment. */
  get primary(): VideoQueue {
    return this.first;
  }

  /** The first lane: its records of GPU seconds and durations are keyed on QUEUE_NAME, shared by every lane. */
  private get first(): VideoQueue {
    return this.lanes.get(DEFAULT_MODEL) ?? [...this.lanes.values()][0]!;
  }

  get gpuSeconds(): VideoQueue['gpuSeconds'] {
    return this.first.gpuSeconds;
  }

  get durations(): VideoQueue['durations'] {
    return this.first.durations;
  }

  /** cogcast's own keys, shared by every lane (QUEUE_NAME's prefix). */
  key(...parts: string[]): string {
    return cogcastKey(this.config.QUEUE_NAME, ...parts);
  }

  lane(model: ModelName): VideoQueue | undefined {
    return this.lanes.get(model);
  }

  /** The lane a preset's jobs wait in; undefined for a preset the book does not have. */
  laneOfPreset(presetName: string): VideoQueue | undefined {
    const preset = this.presets.byName.get(presetName);
    return preset ? this.lanes.get(presetModel(preset)) : undefined;
  }

  enqueue(request: JobRequest, placement?: Pick<Placement, 'priority' | 'lifo'>, fleet?: { served?: boolean }): Promise<Enqueued> {
    const lane = this.laneOfPreset(request.preset);
    if (!lane) throw new Error(`no lane for preset ${request.preset}`);
    return lane.enqueue(request, placement, fleet);
  }

  /** The job with this id, in whichever lane holds it (ids are UUIDs: at most one does). */
  async findJob(jobId: string): Promise<{ job: Job<JobRequest>; lane: VideoQueue } | undefined> {
    const found = await Promise.all([...this.lanes.values()].map(async (lane) => ({ lane, job: await lane.queue.getJob(jobId) })));
    const hit = found.find((f) => f.job);
    return hit ? { job: hit.job!, lane: hit.lane } : undefined;
  }

  async getJob(jobId: string): Promise<Job<JobRequest> | undefined> {
    return (await this.findJob(jobId))?.job;
  }

  /** Jobs waiting for a worker in every lane. */
  async waitingCount(): Promise<number> {
    const all = await Promise.all([...this.lanes.values()].map((lane) => lane.waitingCount()));
    return all.reduce((a, b) => a + b, 0);
  }

  /** Every lane's counts, summed. */
  async counts(): Promise<Awaited<ReturnType<VideoQueue['counts']>>> {
    const all = await Promise.all([...this.lanes.values()].map((lane) => lane.counts()));
    return all.reduce((sum, c) => ({ waiting: sum.waiting + c.waiting, active: sum.active + c.active, delayed: sum.delayed + c.delayed, failed: sum.failed + c.failed, completed: sum.completed + c.completed }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((lane) => lane.close()));
  }
}
