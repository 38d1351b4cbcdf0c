// One enqueue at a time per queue, across every bot process: the waiting-queue cap is counted and the job added
// under this short Redis lock, so 60 simultaneous requests against a cap of 5 leave at most 5 waiting.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UserFacingError } from '../core/errors.ts';

const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/** Longest a holder keeps it (a bot that dies holding it frees it after this). */
const LOCK_MS = 5_000;
/** Longest a request waits for its turn before the queue counts as unavailable. */
const WAIT_MS = 3_000;

export async function withEnqueueLock<T>(redis: Redis, key: string, run: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + WAIT_MS;
  while ((await redis.set(key, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new UserFacingError('queue_unavailable');
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
  }
  try {
    return await run();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined); // expires by itself if Redis is gone
  }
}
