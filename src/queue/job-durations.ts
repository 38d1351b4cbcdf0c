// Recent job durations per preset, kept in Redis, for queue ETAs.
import type { Redis } from 'ioredis';
import { cogcastKey } from './redis.ts';

const KEEP = 50;

export class JobDurations {
  constructor(
    private readonly redis: Redis,
    private readonly queueName: string,
  ) {}

  private key(preset: string): string {
    return cogcastKey(this.queueName, 'durations', preset);
  }

  async record(preset: string, seconds: number): Promise<void> {
    await this.redis.multi().lpush(this.key(preset), seconds.toFixed(3)).ltrim(this.key(preset), 0, KEEP - 1).exec();
  }

  /** Median of the recent durations of `preset`, or null before any job of it finished. */
  async median(preset: string): Promise<number | null> {
    const values = (await this.redis.lrange(this.key(preset), 0, -1)).map(Number).filter(Number.isFinite);
    return median(values);
  }
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
