// The real local-file delivery that also appends every call to a ledger file shared by worker processes (in
// other network namespaces, one file system): a test reads it to prove "posted exactly once" across a fleet.
// Progress and failures are the statuses this process's outbound heard of (the job events it was given).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import type { JobEvent, JobStatus } from '../../src/queue/job-events.ts';
import type { DeliverableVideo, StatusSurface } from '../../src/platforms/platform.ts';
import { LocalFileDelivery } from '../../src/platforms/cli/local-file-delivery.ts';

export type LedgerEntry =
  | { kind: 'progress'; worker: string; jobId: string; at: number; update: JobEvent }
  | { kind: 'deliver'; worker: string; jobId: string; at: number; path: string }
  | { kind: 'fail'; worker: string; jobId: string; at: number; failure: { code: string; message: string } };

export class LedgerDelivery extends LocalFileDelivery {
  override readonly status: StatusSurface = {
    paceMs: 1,
    paceKey: (status: JobStatus) => `ledger:${status.jobId}`,
    heard: (status: JobStatus) => {
      const { event, jobId } = status;
      if (event.stage === 'failed') this.append({ kind: 'fail', worker: this.worker, jobId, at: Date.now(), failure: { code: event.reason, message: event.detail ?? '' } });
      else if (event.stage === 'cancelled') this.append({ kind: 'fail', worker: this.worker, jobId, at: Date.now(), failure: { code: 'cancelled', message: 'cancelled' } });
      else if (event.stage !== 'done') this.append({ kind: 'progress', worker: this.worker, jobId, at: Date.now(), update: event });
    },
    write: async () => ({ kind: 'shown' }),
  };

  constructor(
    outputDir: string,
    private readonly ledgerPath: string,
    private readonly worker: string,
  ) {
    super(outputDir);
  }

  private append(entry: LedgerEntry): void {
    // One short write in append mode per line: lines from several processes never interleave.
    appendFileSync(this.ledgerPath, `${JSON.stringify(entry)}\n`);
  }

  override async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const receipt = await super.deliver(job, jobId, video);
    this.append({ kind: 'deliver', worker: this.worker, jobId, at: Date.now(), path: String(receipt.path) });
    return receipt;
  }
}

export function readLedger(path: string): LedgerEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LedgerEntry);
}
