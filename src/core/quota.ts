// Per-user quotas in Redis: jobs pending at once and jobs per rolling hour, checked and reserved atomically.
import type { Redis } from 'ioredis';
import { UserFacingError } from './errors.ts';

// One script so that 1,000 concurrent requests can never overshoot a limit between check and reserve.
const RESERVE = `
local hourKey, pendingKey = KEYS[1], KEYS[2]
local now, window, maxHour, maxPending, token = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', hourKey, '-inf', now - window)
local used = redis.call('ZCARD', hourKey)
if used >= maxHour then
  local oldest = redis.call('ZRANGE', hourKey, 0, 0, 'WITHSCORES')
  return {2, tonumber(oldest[2])}
end
local pending = redis.call('ZCARD', pendingKey)
if pending >= maxPending then return {1, pending} end
redis.call('ZADD', hourKey, now, token)
redis.call('PEXPIRE', hourKey, window)
redis.call('ZADD', pendingKey, now, token)
return {0, 0}
`;

export interface QuotaLimits {
  maxPendingPerUser: number;
  maxJobsPerHour: number;
}

const HOUR_MS = 3_600_000;
// A reservation younger than this may not have its job enqueued yet: never prune it as a leftover.
const PRUNE_GRACE_MS = 60_000;

export class UserQuota {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limits: QuotaLimits,
    /** Tells whether a pending token still stands for a live job, so crashed leftovers do not block a user. */
    private readonly isStillPending: (token: string) => Promise<boolean>,
  ) {}

  private keys(userKey: string): [string, string] {
    return [`${this.keyPrefix}:quota:hour:${userKey}`, `${this.keyPrefix}:quota:pending:${userKey}`];
  }

  /** Reserves one job for `userKey` or throws quota_pending / quota_hourly. */
  async reserve(userKey: string, token: string, now = Date.now()): Promise<void> {
    const [hourKey, pendingKey] = this.keys(userKey);
    const run = () =>
      this.redis.eval(RESERVE, 2, hourKey, pendingKey, now, HOUR_MS, this.limits.maxJobsPerHour, this.limits.maxPendingPerUser, token) as Promise<[number, number]>;
    let [verdict, detail] = await run();
    if (verdict === 1 && (await this.pruneFinished(pendingKey, now)) > 0) [verdict, detail] = await run();
    if (verdict === 1) throw new UserFacingError('quota_pending', { count: detail, max: this.limits.maxPendingPerUser });
    if (verdict === 2) {
      const minutes = Math.max(1, Math.ceil((detail + HOUR_MS - now) / 60_000));
      throw new UserFacingError('quota_hourly', { max: this.limits.maxJobsPerHour, minutes });
    }
  }

  /** The job left the queue (done, failed for good, cancelled): it no longer counts as pending. */
  async release(userKey: string, token: string): Promise<void> {
    await this.redis.zrem(this.keys(userKey)[1], token);
  }

  /** The job was never enqueued: give back the hourly slot too. */
  async refund(userKey: string, token: string): Promise<void> {
    const [hourKey, pendingKey] = this.keys(userKey);
    await this.redis.multi().zrem(hourKey, token).zrem(pendingKey, token).exec();
  }

  /** Tokens (job ids) the user has waiting or running. */
  async pendingJobs(userKey: string): Promise<string[]> {
    return this.redis.zrange(this.keys(userKey)[1], '0', '-1');
  }

  private async pruneFinished(pendingKey: string, now: number): Promise<number> {
    const tokens = await this.redis.zrangebyscore(pendingKey, '-inf', String(now - PRUNE_GRACE_MS));
    let pruned = 0;
    for (const token of tokens) {
      if (!(await this.isStillPending(token))) pruned += await this.redis.zrem(pendingKey, token);
    }
    return pruned;
  }
}
