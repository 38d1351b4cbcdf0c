// Denoising steps relayed to Redis and the user, latest wins: at most one write in flight and at most one every
// `minIntervalMs`, so a fast engine, a slow link or a large fleet never queues up progress writes.
import type { JobEvent } from '../../src/queue/job-events.ts';

/** A person reads a status message at most about once a second; platforms pace their edits slower still. */
export const STEP_PROGRESS_MIN_INTERVAL_MS = 1000;

export class StepProgress {
  private pending: JobEvent | null = null;
  private inFlight: Promise<void> | null = null;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly write: (update: JobEvent) => Promise<void>,
    private readonly minIntervalMs = STEP_PROGRESS_MIN_INTERVAL_MS,
  ) {}

  /** The engine finished a step: shown now, or replaces the step waiting to be shown. */
  push(update: JobEvent): void {
    if (this.closed) return;
    this.pending = update;
    this.pump();
  }

  /**
   * The stage is over: waits for the write in flight, then writes the last step not yet shown (a user sees the
   * final step before the next stage); nothing is written after it.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    const last = this.pending;
    this.pending = null;
    if (last) await this.write(last).catch(() => undefined);
  }

  private pump(): void {
    if (this.inFlight || this.timer || !this.pending || this.closed) return;
    const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait).unref();
      return;
    }
    const update = this.pending;
    this.pending = null;
    this.lastWriteAt = Date.now();
    this.inFlight = this.write(update)
      .catch(() => undefined) // a lost step is harmless; a lost lock is seen by the next awaited stage
      .finally(() => {
        this.inFlight = null;
        this.pump();
      });
  }
}
