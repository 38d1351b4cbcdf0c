// The real local-file delivery that also appends every call to a ledger file shared by worker processes (in
// other network namespaces, one file system): a test reads it to prove "posted exactly once" across a fleet.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { JobProgress, JobRequest } from '../../src/queue/job-contract.ts';
import type { DeliverableVideo, DeliveryFailure } from '../../src/platforms/delivery.ts';
import { LocalFileDelivery } from '../../src/platforms/cli/local-file-delivery.ts';

export type LedgerEntry =
  | { kind: 'progress'; worker: string; jobId: string; at: number; update: JobProgress }
  | { kind: 'deliver'; worker: string; jobId: string; at: number; path: string }
  | { kind: 'fail'; worker: string; jobId: string; at: number; failure: DeliveryFailure };

export class LedgerDelivery extends LocalFileDelivery {
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

  override async progress(_job: JobRequest, jobId: string, update: JobProgress): Promise<void> {
    this.append({ kind: 'progress', worker: this.worker, jobId, at: Date.now(), update });
  }

  override async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const receipt = await super.deliver(job, jobId, video);
    this.append({ kind: 'deliver', worker: this.worker, jobId, at: Date.now(), path: String(receipt.path) });
    return receipt;
  }

  override async fail(_job: JobRequest, jobId: string, failure: DeliveryFailure): Promise<void> {
    this.append({ kind: 'fail', worker: this.worker, jobId, at: Date.now(), failure });
  }
}

export function readLedger(path: string): LedgerEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LedgerEntry);
}
