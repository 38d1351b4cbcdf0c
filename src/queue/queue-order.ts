// The order in which workers will take the waiting jobs, as BullMQ serves them: its wait list first (new jobs are
// pushed on the left, taken from the right; a lifo job is pushed on the right), then its prioritized set by score
// (priority, then arrival). The one place positions, ETAs and refreshed places read it from.
import type { Tier } from '../core/priority-tiers.ts';
import type { VideoQueue } from './video-queue.ts';

/** 1-based place among waiting jobs, or null when the job is not waiting. */
export async function positionOf(queue: VideoQueue, jobId: string): Promise<number | null> {
  const result = await queue.redis
    .multi()
    .lpos(queue.queue.toKey('wait'), jobId)
    .llen(queue.queue.toKey('wait'))
    .zrank(queue.queue.toKey('prioritized'), jobId)
    .exec();
  const [index, length, rank] = (result ?? []).map(([err, value]) => (err ? null : value)) as [number | null, number, number | null];
  if (index !== null && index !== undefined) return length - index;
  if (rank !== null && rank !== undefined) return (length ?? 0) + rank + 1;
  return null;
}

/** The ids of the next `limit` waiting jobs (all of them when limit is Infinity), the next to run first. */
export async function waitingInOrder(queue: VideoQueue, limit = Infinity): Promise<string[]> {
  if (limit <= 0) return [];
  const waitKey = queue.queue.toKey('wait');
  const fromWait = (Number.isFinite(limit) ? await queue.redis.lrange(waitKey, -limit, -1) : await queue.redis.lrange(waitKey, 0, -1)).reverse();
  if (fromWait.length >= limit) return fromWait.slice(0, limit);
  const rest = Number.isFinite(limit) ? limit - fromWait.length - 1 : -1;
  return [...fromWait, ...(await queue.redis.zrange(queue.queue.toKey('prioritized'), 0, String(rest)))];
}

/**
 * Waiting jobs per tier, for /gpu status: priority-tier jobs are the wait list's lifo ones (their stored options say
 * so; read in one round trip, the list is capped by QUEUE_MAX_WAITING), relax ones the prioritized set's top band.
 */
export async function waitingPerTier(queue: VideoQueue, relaxBase: number): Promise<Record<Tier, number>> {
  const prioritized = queue.queue.toKey('prioritized');
  // BullMQ's score is priority * 2^32 + an arrival counter.
  const relaxFrom = relaxBase * 0x100000000;
  const [waitIds, normal, relax] = await Promise.all([
    queue.redis.lrange(queue.queue.toKey('wait'), 0, -1),
    queue.redis.zcount(prioritized, '-inf', `(${relaxFrom}`),
    queue.redis.zcount(prioritized, relaxFrom, '+inf'),
  ]);
  const pipeline = queue.redis.pipeline();
  for (const id of waitIds) pipeline.hget(queue.queue.toKey(id), 'opts');
  const opts = waitIds.length ? ((await pipeline.exec()) ?? []) : [];
  const lifo = opts.filter(([err, raw]) => !err && typeof raw === 'string' && /"lifo":true/.test(raw)).length;
  return { priority: lifo, normal: waitIds.length - lifo + normal, relax };
}
