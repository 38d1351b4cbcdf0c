// The one gate between Cancel and posting, atomic in Redis: a cancel either lands before the job starts posting
// (and stops it) or finds the job posting (and is told it is too late); never both, never neither.
import type { Redis } from 'ioredis';
import type { JobStage } from './job-events.ts';

/** Stages in which a Cancel still stops the job; from 'uploading' on the clip is being posted. */
const CANCELLABLE_STAGES: ReadonlySet<JobStage> = new Set<JobStage>(['queued', 'starting', 'generating', 'decoding', 'encoding']);

/** Whether a Cancel button belongs on a status message showing `stage`. */
export function isCancellable(stage: JobStage): boolean {
  return CANCELLABLE_STAGES.has(stage);
}

// How long the flags live: past every retry of a job (backoff doubles from seconds; stalled takeovers take minutes).
const CANCEL_TTL_S = 3600;
const POSTING_TTL_S = 24 * 3600;

export interface GateKeys {
  /** Set by a cancel: the job's worker stops it at its next check. */
  cancelFlag: string;
  /** Set once the job starts posting: from then on a cancel is too late. */
  posting: string;
}

// KEYS: posting, cancel flag. ARGV: who cancels, flag ttl, channel, job id.
const REQUEST_CANCEL = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

// KEYS: cancel flag, posting. ARGV: posting ttl.
const ENTER_POSTING = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return 1
`;

/** Sets the cancel flag and tells the workers, unless the job is posting already: then false (too late). */
export async function signalCancel(redis: Redis, keys: GateKeys, userKey: string, channel: string, jobId: string): Promise<boolean> {
  return (await redis.eval(REQUEST_CANCEL, 2, keys.posting, keys.cancelFlag, userKey, CANCEL_TTL_S, channel, jobId)) === 1;
}

/** The worker is about to post: true if it may (no cancel came first); from now on cancels are too late. */
export async function enterPosting(redis: Redis, keys: GateKeys): Promise<boolean> {
  return (await redis.eval(ENTER_POSTING, 2, keys.cancelFlag, keys.posting, POSTING_TTL_S)) === 1;
}

/** Whether the job has started posting (an earlier attempt included). */
export async function isPosting(redis: Redis, keys: GateKeys): Promise<boolean> {
  return (await redis.exists(keys.posting)) === 1;
}
