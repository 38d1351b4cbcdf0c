// Per-address backoff on failed logins to the ops server (rate-limiter-flexible): after `failures` wrong
// credentials within `windowS`, the address is refused for `blockS`, doubled at each repeat up to `maxBlockS`.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginThrottleOptions {
  /** Wrong credentials an address may send within the window before it is blocked. Default 10. */
  failures: number;
  /** Seconds over which failures are counted; a correct login resets the count. Default 600. */
  windowS: number;
  /** First block, in seconds; each further block of the same address within a day doubles it. Default 60. */
  blockS: number;
  /** Longest block, in seconds. Default 3600. */
  maxBlockS: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = { failures: 10, windowS: 600, blockS: 60, maxBlockS: 3600 };

const DAY_S = 86_400;

// In memory, not Redis: one bot process serves the dashboard, and a login must not depend on Redis being up.
export class LoginThrottle {
  private readonly failures: RateLimiterMemory;
  /** How often each address was blocked in the last day: the exponent of its next block. */
  private readonly strikes = new RateLimiterMemory({ points: Number.MAX_SAFE_INTEGER, duration: DAY_S });

  constructor(private readonly opts: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE) {
    for (const [name, value] of Object.entries(opts)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`LoginThrottle: ${name} must be a positive number, got ${value}`);
    }
    this.failures = new RateLimiterMemory({ points: opts.failures, duration: opts.windowS });
  }

  /** Seconds `address` must wait before its credentials are looked at again; 0 = not blocked. */
  async blockedFor(address: string): Promise<number> {
    const res = await this.failures.get(address);
    return res && res.consumedPoints > this.opts.failures ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
  }

  /** Counts a wrong login; resolves with the seconds the address is now blocked for (0 = not blocked). */
  async failed(address: string): Promise<number> {
    try {
      await this.failures.consume(address);
      return 0;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // The failure that crosses the limit starts the block; later ones (concurrent guesses) only see it.
      if (err.consumedPoints !== this.opts.failures + 1) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      const strike = (await this.strikes.penalty(address, 1)).consumedPoints;
      const blockS = Math.min(this.opts.blockS * 2 ** (strike - 1), this.opts.maxBlockS);
      await this.failures.block(address, blockS);
      return Math.ceil(blockS);
    }
  }

  /** A correct login: the address starts counting failures from zero. */
  async succeeded(address: string): Promise<void> {
    await this.failures.delete(address);
  }
}
