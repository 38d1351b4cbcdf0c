// The fleet as Redis holds it: worker heartbeats (written, retired, read back) and the queue's counts.
import type { Redis } from 'ioredis';
import { DEFAULT_MODEL, type ModelName } from '../../config/models.ts';
import type { FleetSnapshot } from '../core/fleet-status.ts';
import { heartbeatSchema, type WorkerHeartbeat } from '../core/heartbeat.ts';
import { RELAX_BASE } from '../core/priority-tiers.ts';
import { waitingPerTier } from './queue-order.ts';
import type { VideoQueue } from './video-queue.ts';
import type { VideoQueues } from './video-queues.ts';

type Keyed = Pick<VideoQueue, 'key'>;

/** A worker unseen for this long is forgotten rather than reported missing forever. */
export const FORGET_WORKER_AFTER_MS = 3_600_000;
/** A heartbeat lives this many intervals: two missed beats are tolerated, the third means dead. */
export const HEARTBEAT_TTL_INTERVALS = 3;
const HOUR_MS = 3_600_000;

export function heartbeatKey(queue: Keyed, workerId: string): string {
  return queue.key('workers', workerId);
}

/** Every worker that beat recently, scored by its last beat: how an expired heartbeat is noticed. */
export function workersSeenKey(queue: Keyed): string {
  return queue.key('workers-seen');
}

export async function publishHeartbeat(redis: Redis, queue: Keyed, beat: WorkerHeartbeat): Promise<void> {
  const seen = workersSeenKey(queue);
  await redis
    .multi()
    .set(heartbeatKey(queue, beat.workerId), JSON.stringify(beat), 'PX', beat.intervalMs * HEARTBEAT_TTL_INTERVALS)
    .zadd(seen, beat.at, beat.workerId)
    .zremrangebyscore(seen, '-inf', beat.at - FORGET_WORKER_AFTER_MS)
    .exec();
}

/** A worker shutting down cleanly leaves no heartbeat behind, so it is not reported missing. */
export async function retireHeartbeat(redis: Redis, queue: Keyed, workerId: string): Promise<void> {
  await redis.multi().del(heartbeatKey(queue, workerId)).zrem(workersSeenKey(queue), workerId).exec();
}

/** Live heartbeats, and the workers seen within the hour whose heartbeat has expired. */
export async function readHeartbeats(redis: Redis, queue: Keyed, now = Date.now()): Promise<Pick<FleetSnapshot, 'workers' | 'missing'>> {
  const seen = await redis.zrangebyscore(workersSeenKey(queue), now - FORGET_WORKER_AFTER_MS, '+inf', 'WITHSCORES');
  const ids: { workerId: string; lastSeenAt: number }[] = [];
  for (let i = 0; i + 1 < seen.length; i += 2) ids.push({ workerId: seen[i]!, lastSeenAt: Number(seen[i + 1]) });
  if (ids.length === 0) return { workers: [], missing: [] };
  const raw = await redis.mget(ids.map((w) => heartbeatKey(queue, w.workerId)));
  const workers: WorkerHeartbeat[] = [];
  const missing: FleetSnapshot['missing'] = [];
  ids.forEach((w, i) => {
    const parsed = raw[i] ? heartbeatSchema.safeParse(safeJson(raw[i]!)) : null;
    if (parsed?.success) workers.push(parsed.data);
    else missing.push(w); // expired, or written by an incompatible version: either way not reporting
  });
  return { workers, missing };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Failed jobs that finished within the last hour (BullMQ scores its failed set by finishedOn). */
export async function failedSince(queue: VideoQueue, since: number): Promise<number> {
  return queue.redis.zcount(queue.queue.toKey('failed'), since, '+inf');
}

/** The models some live worker holds (workers of older builds, which do not say, hold cogvideox-2b). */
export async function liveModels(queues: Pick<VideoQueues, 'redis' | 'key'>, now = Date.now()): Promise<{ models: Set<ModelName>; workers: number }> {
  const { workers } = await readHeartbeats(queues.redis, queues, now);
  return { models: new Set(workers.map((w) => w.model ?? DEFAULT_MODEL)), workers: workers.length };
}

/** Everything /gpu status shows; a Redis that does not answer yields a snapshot saying so, never a throw. */
export async function readFleetSnapshot(queues: VideoQueues, now = Date.now()): Promise<FleetSnapshot> {
  const started = Date.now();
  const pong = await queues.redis.ping().catch(() => null);
  if (pong !== 'PONG') return { now, redis: { reachable: false, latencyMs: null }, queue: null, workers: [], missing: [] };
  const latencyMs = Date.now() - started;
  const lanes = [...queues.lanes.values()];
  const [perLane, fleet] = await Promise.all([
    Promise.all(lanes.map(async (lane) => ({ model: lane.model, counts: await lane.counts(), failed: await failedSince(lane, now - HOUR_MS), tiers: await waitingPerTier(lane, RELAX_BASE) }))),
    readHeartbeats(queues.redis, queues, now),
  ]);
  const sum = (pick: (l: (typeof perLane)[number]) => number) => perLane.reduce((total, l) => total + pick(l), 0);
  const tiers = { priority: sum((l) => l.tiers.priority), normal: sum((l) => l.tiers.normal), relax: sum((l) => l.tiers.relax) };
  return {
    now,
    redis: { reachable: true, latencyMs },
    queue: {
      waiting: sum((l) => l.counts.waiting),
      active: sum((l) => l.counts.active),
      delayed: sum((l) => l.counts.delayed),
      failedLastHour: sum((l) => l.failed),
      tiers,
      models: perLane.map((l) => ({ model: l.model, waiting: l.counts.waiting, active: l.counts.active, workers: fleet.workers.filter((w) => (w.model ?? DEFAULT_MODEL) === l.model).length })),
    },
    ...fleet,
  };
}
