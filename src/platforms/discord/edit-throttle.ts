// Per-job coalescing of chat status edits: at most one edit per interval, and the latest state is always the last shown.
export type Edit = () => Promise<void>;

interface JobEdits {
  lastAt: number;
  /** The newest state not yet shown; older ones are dropped, never queued. */
  pending?: Edit;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<void>;
}

// Jobs whose final message (video or failure) is being or was written; remembered so a late step event cannot
// overwrite it. Bounded: only a few recent jobs can still race.
const REMEMBER_CLOSED = 1000;

export class EditThrottle {
  private readonly jobs = new Map<string, JobEdits>();
  private readonly closed = new Set<string>();

  constructor(
    private readonly intervalMs: number,
    private readonly onError: (key: string, err: unknown) => void = () => undefined,
  ) {}

  /** Shows `edit` now if the last edit of `key` is older than the interval, else when the interval is over. */
  push(key: string, edit: Edit): void {
    if (this.closed.has(key)) return;
    let job = this.jobs.get(key);
    if (!job) {
      job = { lastAt: 0 };
      this.jobs.set(key, job);
    }
    job.pending = edit;
    if (!job.timer && !job.inFlight) this.pump(key, job);
  }

  /** Drops the waiting edit and waits out the one in flight: the caller is about to write the final state. */
  async close(key: string): Promise<void> {
    this.closed.add(key);
    if (this.closed.size > REMEMBER_CLOSED) this.closed.delete(this.closed.values().next().value as string);
    const job = this.jobs.get(key);
    if (!job) return;
    this.jobs.delete(key);
    job.pending = undefined;
    clearTimeout(job.timer);
    await job.inFlight;
  }

  /** The final write failed and the job will be retried: its progress may be shown again. */
  reopen(key: string): void {
    this.closed.delete(key);
  }

  private pump(key: string, job: JobEdits): void {
    if (!job.pending || this.jobs.get(key) !== job) return;
    const wait = job.lastAt + this.intervalMs - Date.now();
    if (wait > 0) {
      job.timer = setTimeout(() => {
        job.timer = undefined;
        this.pump(key, job);
      }, wait);
      return;
    }
    const edit = job.pending;
    job.pending = undefined;
    job.lastAt = Date.now();
    job.inFlight = edit()
      .catch((err: unknown) => this.onError(key, err))
      .finally(() => {
        job.inFlight = undefined;
        this.pump(key, job);
      });
  }
}
