// A job's prepared picture (its first frame, PNG bytes) in Redis under the job id, kept for its retries and rerolls.
import type { Redis } from 'ioredis';

/** Job ids are ids we choose (UUIDs): anything else in a key is a bug, never a user's text. */
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class JobImages {
  /**
   * @param redis a command connection.
   * @param prefix our key space for the queue: cogcastKey(QUEUE_NAME).
   * @param ttlSeconds how long a picture is kept after it is saved or copied (IMAGE_TTL_SECONDS).
   */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    if (!prefix) throw new RangeError('JobImages: prefix must not be empty');
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`JobImages: ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }

  key(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new RangeError('JobImages: jobId must be a job id we chose (letters, digits, - and _)');
    return `${this.prefix}:images:${jobId}`;
  }

  async save(jobId: string, png: Buffer): Promise<void> {
    await this.redis.set(this.key(jobId), png, 'EX', this.ttlSeconds);
  }

  /** The picture, or null once it expired or was removed. */
  async load(jobId: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.key(jobId));
  }

  /** A reroll's own copy with a fresh TTL; false when the original is gone (expired or removed). */
  async copy(fromJobId: string, toJobId: string): Promise<boolean> {
    const to = this.key(toJobId);
    // COPY keeps the source's remaining TTL: EXPIRE in the same transaction restarts it for the new job.
    const replies = await this.redis.multi().copy(this.key(fromJobId), to, 'REPLACE').expire(to, this.ttlSeconds).exec();
    const [copyError, copied] = replies?.[0] ?? [new Error('transaction aborted'), 0];
    if (copyError) throw copyError;
    return copied === 1;
  }

  async remove(jobId: string): Promise<void> {
    await this.redis.del(this.key(jobId));
  }
}
