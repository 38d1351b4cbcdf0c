// Stored results by request identity (model, preset, seed, prompt, picture): an identical request reuses the clip.
import { createHash } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { type JobStats, jobStatsSchema } from '../../src/core/stats.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';

export interface CachedResult {
  path: string;
  bytes: number;
  stats: JobStats;
  receipts: Record<string, Record<string, unknown>>;
}

export function resultKey(model: string, request: Pick<JobRequest, 'preset' | 'seed' | 'prompt' | 'negativePrompt' | 'smooth' | 'image'>): string {
  // A smooth clip, or one from another picture, is another file; the keys of plain text clips stay what they were.
  const parts = [model, request.preset, request.seed, request.prompt, request.negativePrompt, ...(request.smooth ? ['smooth'] : []), ...(request.image ? ['image', request.image.sha256] : [])];
  return createHash('sha256')
    .update(JSON.stringify(parts))
    .digest('hex')
    .slice(0, 32);
}

/** A result id: the hex digest resultKey makes, nothing a stored value could turn into a path. */
const RESULT_ID = /^[0-9a-f]{32}$/;

export class ResultCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** As long as the clip itself is kept (RESULT_RETENTION_HOURS): an entry is useless once the janitor deleted its MP4. */
    private readonly keepSeconds: number,
    /** Where the clips live (OUTPUT_DIR/results): a clip is found from its id here, never from a path held in Redis. */
    private readonly dir: string,
  ) {}

  /** The clip of result `id`: always under the results folder, whatever Redis holds. */
  pathOf(id: string): string {
    if (!RESULT_ID.test(id)) throw new Error(`not a result id: ${JSON.stringify(id.slice(0, 40))}`);
    return join(this.dir, `${id}.mp4`);
  }

  private key(id: string): string {
    return `${this.prefix}:result:${id}`;
  }

  /** The stored result, if its MP4 is still on this host's disk. */
  async get(id: string): Promise<CachedResult | null> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h.stats) return null;
    const path = this.pathOf(id);
    try {
      await access(path);
    } catch {
      return null;
    }
    const receipts: CachedResult['receipts'] = {};
    for (const [field, value] of Object.entries(h)) {
      if (field.startsWith('receipt:')) receipts[field.slice('receipt:'.length)] = JSON.parse(value) as Record<string, unknown>;
    }
    return { path, bytes: Number(h.bytes ?? 0), stats: jobStatsSchema.parse(JSON.parse(h.stats)), receipts };
  }

  async put(id: string, bytes: number, stats: JobStats): Promise<void> {
    await this.redis.multi().hset(this.key(id), { bytes: String(bytes), stats: JSON.stringify(stats) }).expire(this.key(id), this.keepSeconds).exec();
  }

  /** Drops the entry and its MP4 (a cancelled job's clip must not be left behind, nor reused). */
  async forget(id: string): Promise<void> {
    await this.redis.del(this.key(id));
    await rm(this.pathOf(id), { force: true });
  }

  async addReceipt(id: string, platform: string, receipt: Record<string, unknown>): Promise<void> {
    await this.redis.hset(this.key(id), `receipt:${platform}`, JSON.stringify(receipt));
  }
}
