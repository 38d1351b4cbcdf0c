// The one writer of every status message of one platform: it hears that a job's status advanced, waits for the
// chat's pace slot (shared by every process through Redis), and writes only the newest status it heard of.
// Bursts coalesce (only the latest model is rendered); a final status is waited for until it is shown.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type JobStatus, isTerminal } from '../queue/job-events.ts';
import type { JobStatusStore } from '../queue/job-status-store.ts';
import type { StatusSlot, StatusSurface, StatusWriteOutcome } from './platform.ts';
import type { RedisPacer } from './redis-pacer.ts';

interface Line {
  jobId: string;
  paceKey: string;
  /** The newest status this process heard of, and its version. */
  latest: JobStatus;
  wanted: number;
  /** The newest version written (by us) or known written (by another process). */
  shown: number;
  /** The version we claimed and are still trying to land (a 429 or 5xx came back). */
  claimed: number;
  pumping?: Promise<void>;
  gone?: boolean;
  tries: number;
}

export interface StatusWriterOptions {
  /** Tries for one version before giving up on it (flood waits and 5xx count). */
  maxTries?: number;
  log: Logger;
}

// Lines of finished jobs are dropped once shown; this bounds those that never finish here.
const MAX_LINES = 5000;

export class StatusWriter implements StatusSlot {
  private readonly lines = new Map<string, Line>();
  private readonly maxTries: number;

  constructor(
    private readonly surface: StatusSurface,
    private readonly store: JobStatusStore,
    private readonly pacer: RedisPacer,
    private readonly options: StatusWriterOptions,
  ) {
    this.maxTries = options.maxTries ?? 8;
  }

  /** Progress: returns at once. A final status: resolves once it is shown (or cannot be). Never throws. */
  async statusChanged(status: JobStatus): Promise<void> {
    const paceKey = this.surface.paceKey(status);
    if (!paceKey) return;
    this.surface.heard?.(status);
    let line = this.lines.get(status.jobId);
    if (!line) {
      if (this.lines.size >= MAX_LINES) this.lines.delete(this.lines.keys().next().value as string);
      line = { jobId: status.jobId, paceKey, latest: status, wanted: 0, shown: 0, claimed: 0, tries: 0 };
      this.lines.set(status.jobId, line);
    }
    if (status.version > line.wanted) {
      line.latest = status;
      line.wanted = status.version;
    }
    if (!isTerminal(status.event.stage)) {
      void this.settle(line);
      return;
    }
    await this.settle(line);
    this.lines.delete(status.jobId);
  }

  /** Runs `write` as this chat's writer: after any edit in flight, in a pace slot of the chat. */
  async exclusive<T>(jobId: string, write: () => Promise<T>): Promise<T> {
    const line = this.lines.get(jobId);
    await line?.pumping;
    const status = await this.store.get(jobId);
    const key = status ? this.surface.paceKey(status) : null;
    if (!key) return write();
    return this.pacer.run(key, this.surface.paceMs, write);
  }

  /** Until the newest version heard of is shown: a drain that was just ending may have missed it. */
  private async settle(line: Line): Promise<void> {
    while (!line.gone && line.wanted > line.shown) await this.pump(line);
  }

  private pump(line: Line): Promise<void> {
    line.pumping ??= this.drain(line)
      .catch((err: unknown) => this.options.log.warn({ jobId: line.jobId, err: (err as Error).message }, 'status not shown'))
      .finally(() => {
        line.pumping = undefined;
      });
    return line.pumping;
  }

  private async drain(line: Line): Promise<void> {
    while (!line.gone && line.wanted > line.shown) {
      const outcome = await this.pacer.run(line.paceKey, this.surface.paceMs, async () => {
        const outcome = await this.writeLatest(line);
        return { outcome, ...(outcome.kind === 'retry' && outcome.holdOffMs ? { holdOffMs: outcome.holdOffMs } : {}) };
      });
      if (outcome.outcome.kind !== 'retry') continue;
      if (++line.tries >= this.maxTries) {
        this.options.log.warn({ jobId: line.jobId, version: line.claimed }, 'gave up on a status edit');
        line.shown = Math.max(line.shown, line.claimed);
        line.tries = 0;
        continue;
      }
      // No hold-off was asked for (a 5xx, the network): back off a little before the next try.
      if (!outcome.outcome.holdOffMs) await sleep(Math.min(250 * 2 ** line.tries, 4000));
    }
  }

  /**
   * Inside the chat's pace slot (one writer at a time, across processes): the newest status heard here, if
   * nobody showed it or a later one yet. Claims are made inside the slot, so what a chat shows only moves forward.
   */
  private async writeLatest(line: Line): Promise<StatusWriteOutcome> {
    const current = line.latest;
    const retrying = current.version === line.claimed;
    if (!retrying && !(await this.store.claimShown(line.jobId, current.version))) {
      line.shown = Math.max(line.shown, current.version);
      return { kind: 'shown' };
    }
    if (!retrying) line.tries = 0;
    line.claimed = current.version;
    const outcome = await this.surface.write(current);
    if (outcome.kind === 'shown') line.shown = Math.max(line.shown, current.version);
    if (outcome.kind === 'gone') line.gone = true;
    return outcome;
  }
}
