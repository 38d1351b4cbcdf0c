// Recent job durations per preset (whole job, and its denoising part), kept in Redis, for queue ETAs.
import type { Redis } from 'ioredis';
import { cogcastKey } from './redis.ts';

const KEEP = 50;

/** What a job of one preset recently took: the median whole job and the median of its denoising steps. */
export interface PresetTiming {
  totalS: number;
  /** The denoising part of totalS (the rest is text encoding, decode, MP4 and upload); null before it was recorded. */
  denoiseS: number | null;
}

export class JobDurations {
  constructor(
    private readonly redis: Redis,
    private readonly queueName: string,
  ) {}

  private key(preset: string, part: 'total' | 'denoise' = 'total'): string {
    return part === 'total' ? cogcastKey(this.queueName, 'durations', preset) : cogcastKey(this.queueName, 'durations', preset, 'denoise');
  }

  /** Records one finished job of `preset`: `seconds` from start to clip, of which `denoiseSeconds` denoising. */
  async record(preset: string, seconds: number, denoiseSeconds?: number): Promise<void> {
    const tx = this.redis.multi().lpush(this.key(preset), seconds.toFixed(3)).ltrim(this.key(preset), 0, KEEP - 1);
    if (denoiseSeconds !== undefined && Number.isFinite(denoiseSeconds)) {
      tx.lpush(this.key(preset, 'denoise'), Math.min(denoiseSeconds, seconds).toFixed(3)).ltrim(this.key(preset, 'denoise'), 0, KEEP - 1);
    }
    await tx.exec();
  }

  /** Median of the recent durations of `preset`, or null before any job of it finished. */
  async median(preset: string): Promise<number | null> {
    const values = (await this.redis.lrange(this.key(preset), 0, -1)).map(Number).filter(Number.isFinite);
    return median(values);
  }

  /** The recorded timing of each of `presets` (one round trip); presets never timed are left out. */
  async timings(presets: Iterable<string>): Promise<Map<string, PresetTiming>> {
    const names = [...new Set(presets)];
    const out = new Map<string, PresetTiming>();
    if (names.length === 0) return out;
    const tx = this.redis.multi();
    for (const name of names) tx.lrange(this.key(name), 0, -1).lrange(this.key(name, 'denoise'), 0, -1);
    const replies = (await tx.exec()) ?? [];
    names.forEach((name, i) => {
      const numbers = (reply: [Error | null, unknown] | undefined) => ((reply?.[1] as string[] | undefined) ?? []).map(Number).filter(Number.isFinite);
      const totalS = median(numbers(replies[2 * i]));
      if (totalS !== null) out.set(name, { totalS, denoiseS: median(numbers(replies[2 * i + 1])) });
    });
    return out;
  }
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
