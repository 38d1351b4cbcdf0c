// Each user's GPU seconds per UTC day (the engine's time for their clips, cached re-sends cost nothing): the worker
// adds, the bots read it to place a job in relax once the day's allowance (GPU_SECONDS_PER_DAY) is spent.
import type { Redis } from 'ioredis';

const KEEP_DAYS_S = 2 * 86_400;

export class GpuAllowance {
  constructor(
    private readonly redis: Redis,
    /** The queue's key prefix; one hash per day, a field per user. */
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(): string {
    return `${this.prefix}:gpu-seconds:${new Date(this.now()).toISOString().slice(0, 10)}`;
  }

  /** GPU seconds `owner` (`platform:id`) used today. */
  async used(owner: string): Promise<number> {
    return Number((await this.redis.hget(this.key(), owner)) ?? 0);
  }

  async add(owner: string, seconds: number): Promise<void> {
    if (!(seconds > 0)) return;
    const key = this.key();
    await this.redis.multi().hincrbyfloat(key, owner, seconds).expire(key, KEEP_DAYS_S).exec();
  }
}
