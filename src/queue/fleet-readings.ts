// The fleet as Redis holds it: worker heartbeats (written, retired, read back) and the queue's counts.
import type { Redis } from 'ioredis';
import type { FleetSnapshot } from '../core/fleet-status.ts';
import { heartbeatSchema, type WorkerHeartbeat } from '../core/heartbeat.ts';
import { RELAX_BASE } from '../core/priority-tiers.ts';
import { waitingPerTier } from './queue-order.ts';
import type { VideoQueue } from './video-queue.ts';

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

/** Everything /gpu status shows; a Redis that does not answer yields a snapshot saying so, never a throw. */
export async function readFleetSnapshot(queue: VideoQueue, now = Date.now()): Promise<FleetSnapshot> {
  const started = Date.now();
  const pong = await queue.redis.ping().catch(() => null);
  if (pong !== 'PONG') return { now, redis: { reachable: false, latencyMs: null }, queue: null, workers: [], missing: [] };
  const latencyMs = Date.now() - started;
  const [counts, failedLastHour, fleet, tiers] = await Promise.all([queue.counts(), failedSince(queue, now - HOUR_MS), readHeartbeats(queue.redis, queue, now), waitingPerTier(queue, RELAX_BASE)]);
  return {
    now,
    redis: { reachable: true, latencyMs },
    queue: { waiting: counts.waiting, active: counts.active, delayed: counts.delayed, failedLastHour, tiers },
    ...fleet,
  };
}
