// Exactly-once delivery on an at-least-once queue: a per-request marker claimed atomically before posting.
// Once delivered, the marker holds the job's result so a re-run of the job returns it without posting.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { HeldLock } from './job-lock.ts';
import { RedisScript } from './redis-script.ts';

export type Claim =
  | { kind: 'claimed'; token: string }
  | { kind: 'delivered'; record: Record<string, unknown> }
  | { kind: 'busy' }
  /** The attempt no longer holds the job's lock: another worker runs the job and will post it. */
  | { kind: 'lock_lost' };

// Long past any re-run of the job (its retries and a stalled takeover take minutes to hours), and bounded: one
// key per delivered job, gone a day later.
const KEEP_DELIVERED_S = 24 * 3600;

// Deletes the claim only if it is still ours, so a slow attempt never frees another attempt's claim.
const RELEASE_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// Claims only while the attempt still holds the job's BullMQ lock (KEYS[2] = ARGV[3]), in one atomic step: a
// worker that was cut off past its lock and came back cannot post a clip the worker that took over will post.
const CLAIM_IF_LOCKED = new RedisScript(`
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return -1 end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`);

export class DeliveryMarker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** A claim whose holder died is taken over after this long. */
    private readonly claimTtlMs = 5 * 60_000,
  ) {}

  private key(requestId: string): string {
    return `${this.prefix}:delivered:${requestId}`;
  }

  /** What `confirm` stored when the request was delivered already, else null. */
  async delivered(requestId: string): Promise<Record<string, unknown> | null> {
    const raw = await this.redis.get(this.key(requestId));
    if (!raw || raw.startsWith('claim:')) return null;
    return JSON.parse(raw) as Record<string, unknown>;
  }

  /**
   * Claims the right to post, atomically: only one attempt of a request can hold it at a time, and (given the
   * job's lock) only while that attempt still owns the job.
   */
  async claim(requestId: string, lock: HeldLock | null = null): Promise<Claim> {
    const token = `claim:${randomUUID()}`;
    const key = this.key(requestId);
    const code = await CLAIM_IF_LOCKED.run(this.redis, [key, lock?.key ?? key], [token, this.claimTtlMs, lock?.token ?? '']);
    if (code === -1) return { kind: 'lock_lost' };
    if (code === 1) return { kind: 'claimed', token };
    const record = await this.delivered(requestId);
    return record ? { kind: 'delivered', record } : { kind: 'busy' };
  }

  /** Posting succeeded: the marker stays (for a day) and holds `record` (the job's result). */
  async confirm(requestId: string, record: Record<string, unknown>): Promise<void> {
    await this.redis.set(this.key(requestId), JSON.stringify(record), 'EX', KEEP_DELIVERED_S);
  }

  /** Posting failed: give the claim back so a retry can post. */
  async abandon(requestId: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_OURS, 1, this.key(requestId), token);
  }
}
