// Flood control before any command runs: per-user and global request rates, counted in Redis across bots.
import type { Redis } from 'ioredis';
import { UserFacingError } from './errors.ts';

// Fixed windows, both counted in one round trip; a refused request still counts, so a flood stays refused.
const HIT = `
local u = redis.call('INCR', KEYS[1])
if u == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if u > tonumber(ARGV[1]) then return 1 end
local g = redis.call('INCR', KEYS[2])
if g == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
if g > tonumber(ARGV[2]) then return 2 end
return 0
`;

export interface RateLimits {
  perUserPerMinute: number;
  globalPerMinute: number;
}

export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limits: RateLimits,
    private readonly windowMs = 60_000,
  ) {}

  /** Counts one request of `userKey`; throws rate_limited past either limit. */
  async hit(userKey: string, now = Date.now()): Promise<void> {
    const window = Math.floor(now / this.windowMs);
    const verdict = (await this.redis.eval(
      HIT,
      2,
      `${this.keyPrefix}:rate:user:${userKey}:${window}`,
      `${this.keyPrefix}:rate:global:${window}`,
      this.limits.perUserPerMinute,
      this.limits.globalPerMinute,
      this.windowMs,
    )) as number;
    if (verdict !== 0) throw new UserFacingError('rate_limited');
  }
}
