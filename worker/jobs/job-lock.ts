// Losing the BullMQ lock of the job an attempt is running: the error that discards the attempt, and a watch that
// notices, even while Redis cannot be reached, when the lock must have expired (another worker may run the job).
import type { Job, Worker } from 'bullmq';

/** A key of the job in BullMQ's layout: `<prefix>:<queue>:<part>` (the job's hash is `<prefix>:<queue>:<jobId>`). */
export function bullKey(job: Pick<Job, 'queueQualifiedName'>, part: string): string {
  return `${job.queueQualifiedName}:${part}`;
}

/** This attempt no longer owns its job: another worker took it over, so nothing of this attempt may reach the user. */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
  constructor(jobId: string, why: string) {
    super(`lost the lock of job ${jobId} (${why}): another worker runs it now`);
  }
}

export interface JobLockWatch {
  /** Aborts when the lock is known or certain to be lost. */
  readonly signal: AbortSignal;
  readonly lost: LockLostError | null;
  /** Marks the lock lost (a lock check in Redis said so). */
  lose(why: string): void;
  stop(): void;
}

/**
 * Follows BullMQ's lock renewals for one worker. A lock not renewed for WORKER_LOCK_DURATION_MS has expired in
 * Redis whatever the network did, so a worker cut off from Redis stops its engine instead of finishing a job
 * another worker is re-running; a renewal Redis refused (the lock changed hands) stops it too.
 */
export class LockWatch {
  private readonly renewedAt = new Map<string, number>();
  private readonly watches = new Map<string, JobLockWatch>();

  constructor(
    private readonly lockDurationMs: number,
    private readonly checkEveryMs = Math.max(100, Math.min(1000, Math.floor(lockDurationMs / 4))),
  ) {}

  observe(worker: Pick<Worker, 'on'>): void {
    worker.on('locksRenewed', ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) if (this.renewedAt.has(id)) this.renewedAt.set(id, now);
    });
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.watches.get(id)?.lose('Redis refused to renew it');
    });
  }

  /** Starts watching the job's lock, taken (or last renewed) no earlier than now. */
  watch(jobId: string): JobLockWatch {
    const controller = new AbortController();
    let lost: LockLostError | null = null;
    this.renewedAt.set(jobId, Date.now());
    const lose = (why: string) => {
      if (lost) return;
      lost = new LockLostError(jobId, why);
      controller.abort(lost);
    };
    const timer = setInterval(() => {
      const since = Date.now() - (this.renewedAt.get(jobId) ?? 0);
      if (since > this.lockDurationMs) lose(`not renewed for ${since} ms, longer than the ${this.lockDurationMs} ms lock`);
    }, this.checkEveryMs).unref();
    const watch: JobLockWatch = {
      signal: controller.signal,
      get lost() {
        return lost;
      },
      lose,
      stop: () => {
        clearInterval(timer);
        if (this.watches.get(jobId) === watch) {
          this.watches.delete(jobId);
          this.renewedAt.delete(jobId);
        }
      },
    };
    this.watches.set(jobId, watch);
    return watch;
  }
}
