// Job progress written only while this attempt holds the job's lock, in one round trip: a worker that lost its
// job (cut off from Redis, then back) can never move the progress of the attempt that took the job over.
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobLock } from './delivery-marker.ts';
import { bullKey } from './job-lock.ts';
import { RedisScript } from './redis-script.ts';

// BullMQ's own updateProgress (HSET progress, XADD a `progress` event that QueueEvents relays) behind a lock check.
const OWNED_PROGRESS = new RedisScript(`
if redis.call('GET', KEYS[4]) ~= ARGV[3] then return -2 end
if redis.call('EXISTS', KEYS[1]) ~= 1 then return -1 end
local maxEvents = redis.call('HGET', KEYS[3], 'opts.maxLenEvents') or 10000
redis.call('HSET', KEYS[1], 'progress', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxEvents, '*', 'event', 'progress', 'jobId', ARGV[1], 'data', ARGV[2])
return 0`);

export type ProgressWrite = 'written' | 'lock_lost' | 'job_gone';

export async function writeOwnedProgress(redis: Redis, job: Job, lock: JobLock | null, progress: object): Promise<ProgressWrite> {
  if (!lock || !job.id) {
    await job.updateProgress(progress);
    return 'written';
  }
  const data = JSON.stringify(progress);
  const code = await OWNED_PROGRESS.run(redis, [bullKey(job, job.id), bullKey(job, 'events'), bullKey(job, 'meta'), lock.key], [job.id, data, lock.token]);
  if (code === -2) return 'lock_lost';
  if (code === -1) return 'job_gone';
  job.progress = progress;
  // As Job.updateProgress does: the worker's own 'progress' listeners (WorkerActivity: heartbeat, /gpu status) hear it.
  (job as unknown as { queue: { emit(event: 'progress', job: Job, progress: object): void } }).queue.emit('progress', job, progress);
  return 'written';
}
