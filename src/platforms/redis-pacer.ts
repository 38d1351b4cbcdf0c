// Paces writes into one chat across every process: one write at a time per key, and the next one no sooner than
// the interval after the previous write finished (or after a 429's retry_after). State lives in Redis.
//
// Not rate-limiter-flexible: its limiters count points in fixed windows, so two processes writing at the end of
// one window and the start of the next land closer than the pace, and its queue (RateLimiterQueue) lives in one
// process. A per-chat pace "at least N ms between two edits, across processes" needs a lease plus a
// next-allowed time, which is these two small Lua scripts. Times come from Redis's clock, not the hosts'.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

// KEYS[1] pace hash. ARGV: owner token, lease ms, poll ms. Returns 0 when leased to the caller, else ms to wait.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'next', 'leaseUntil')
local nextAt, leaseUntil = tonumber(v[1] or '0'), tonumber(v[2] or '0')
-- Held by a writer: ask again soon (its write ends at an unknown time, at the latest when the lease runs out).
if leaseUntil > now then return math.min(leaseUntil - now, tonumber(ARGV[3])) end
if nextAt > now then return nextAt - now end
redis.call('HSET', KEYS[1], 'leaseUntil', now + tonumber(ARGV[2]), 'owner', ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000)
return 0
`;

// KEYS[1] pace hash. ARGV: owner token, ms until the next write may start. Ends the caller's lease.
const RELEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextAt = math.max(tonumber(redis.call('HGET', KEYS[1], 'next') or '0'), now + tonumber(ARGV[2]))
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('HSET', KEYS[1], 'leaseUntil', 0) end
redis.call('HSET', KEYS[1], 'next', nextAt)
redis.call('PEXPIRE', KEYS[1], nextAt - now + 60000)
return nextAt - now
`;

/** How often a writer waiting behind another one asks again. */
const POLL_MS = 20;

export interface PacedOutcome {
  /** The platform asked us to wait this long before the next write to this key (a 429's retry_after). */
  holdOffMs?: number;
}

export class RedisPacer {
  private counter = 0;
  private readonly owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;

  constructor(
    private readonly redis: Redis,
    /** Keys are `<prefix>:pace:<key>`; one prefix per deployment (its queue), so tests never share a pace. */
    private readonly prefix: string,
    /** A write that runs longer than this no longer blocks the key (a process died mid-write). */
    private readonly leaseMs = 30_000,
  ) {}

  /**
   * Runs `write` alone for `key`, no sooner than `intervalMs` after the key's previous write ended; a result
   * carrying `holdOffMs` (PacedOutcome) pushes the next write back that far.
   */
  async run<T>(key: string, intervalMs: number, write: () => Promise<T>): Promise<T> {
    const redisKey = `${this.prefix}:pace:${key}`;
    const token = `${this.owner}-${++this.counter}`;
    for (;;) {
      const waitMs = (await this.redis.eval(ACQUIRE, 1, redisKey, token, this.leaseMs, POLL_MS)) as number;
      if (waitMs === 0) break;
      // A little jitter so processes waiting on one key do not all ask again in the same millisecond.
      await sleep(waitMs + Math.floor(Math.random() * 5));
    }
    let holdOffMs = 0;
    try {
      const outcome = await write();
      holdOffMs = (outcome as Partial<PacedOutcome> | null | undefined)?.holdOffMs ?? 0;
      return outcome;
    } finally {
      await this.redis.eval(RELEASE, 1, redisKey, token, Math.max(intervalMs, holdOffMs)).catch(() => undefined);
    }
  }
}
