// QUEUE_MAX_WAITING, held under any burst and across every bot process: a request first takes a place in Redis,
// atomically against the jobs already waiting (BullMQ's wait, paused and prioritized sets) and the places other
// requests hold but have not yet turned into jobs; the place is given back once the job is added (or not).
//
// A Lua script, not a lock: a lock serialises the bots and its waiters time out under a burst (a polled lock was
// tried and refused requests in the 1,000-request load test). A place nobody gives back (a bot died between
// taking it and adding the job) runs out by itself after PLACE_TTL_MS. Times come from Redis's clock.
import type { Redis } from 'ioredis';

// KEYS: wait list, paused list, prioritized zset, places zset. ARGV: cap, request id, place ttl ms.
// Returns {1, count before} when a place was taken, {0, count} when the queue is full.
const TAKE_PLACE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local n = redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4])
if n >= tonumber(ARGV[1]) then return {0, n} end
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[3]))
return {1, n}
`;

/** How long a place may stay untaken into a job: far longer than an add takes, short enough to heal a dead bot. */
export const PLACE_TTL_MS = 30_000;

export interface WaitingCapKeys {
  wait: string;
  paused: string;
  prioritized: string;
  places: string;
}

export class WaitingCap {
  constructor(
    private readonly redis: Redis,
    private readonly keys: WaitingCapKeys,
    private readonly max: number,
  ) {}

  /** Takes a place for `requestId`: false (with the count) when the queue already holds `max` waiting jobs. */
  async take(requestId: string): Promise<{ taken: boolean; waiting: number }> {
    const { wait, paused, prioritized, places } = this.keys;
    const [taken, waiting] = (await this.redis.eval(TAKE_PLACE, 4, wait, paused, prioritized, places, this.max, requestId, PLACE_TTL_MS)) as [number, number];
    return { taken: taken === 1, waiting };
  }

  /** The job was added (it now counts as waiting itself) or will not be: the place is free again. */
  async giveBack(requestId: string): Promise<void> {
    await this.redis.zrem(this.keys.places, requestId);
  }
}
