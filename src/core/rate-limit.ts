// Flood control before any command runs: per-user and global request rates, counted in Redis across bots (rate-limiter-flexible).
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { UserFacingError } from './errors.ts';

export interface RateLimits {
  perUserPerMinute: number;
  globalPerMinute: number;
}

export class RateLimiter {
  private readonly perUser: RateLimiterRedis;
  private readonly global: RateLimiterRedis;

  constructor(redis: Redis, keyPrefix: string, limits: RateLimits, windowMs = 60_000) {
    const duration = Math.max(1, Math.round(windowMs / 1000));
    // Redis down: fail at once (the dispatcher answers "queue unavailable") instead of waiting on a dead socket.
    const common = { storeClient: redis, duration, rejectIfRedisNotReady: true };
    this.perUser = new RateLimiterRedis({ ...common, keyPrefix: `${keyPrefix}:rate:user`, points: limits.perUserPerMinute });
    this.global = new RateLimiterRedis({ ...common, keyPrefix: `${keyPrefix}:rate:global`, points: limits.globalPerMinute });
  }

  /**
   * Counts one request of `userKey`; throws rate_limited past either limit. A refused request still counts for
   * its user (a flood stays refused) but not globally, so one flooder cannot use up everyone's share.
   */
  async hit(userKey: string): Promise<void> {
    try {
      await this.perUser.consume(userKey);
      await this.global.consume('all');
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new UserFacingError('rate_limited');
      throw err;
    }
  }
}
