// What this worker is doing and has done, followed from its BullMQ Worker's events: for heartbeats and log lines.
import type { Job, Worker } from 'bullmq';
import type { JobOutcome } from '../../src/ops/metrics.ts';
import { jobRequestSchema } from '../../src/queue/job-contract.ts';
import { jobEventSchema } from '../../src/queue/job-events.ts';
import { median } from '../../src/queue/job-durations.ts';

/** Recent jobs the median job time is taken over. */
const KEEP_DURATIONS = 50;

export interface CurrentJob {
  id: string;
  stage: string;
  step: number | null;
  steps: number | null;
  startedAt: number;
  /** `platform:id` of whoever asked, and where the video goes: carried on every log line of the job. */
  user: string | null;
  platform: string | null;
}

/** How one attempt ended, seen from the Worker's `failed` event (BullMQ sets finishedOn only when it gives up). */
export function attemptOutcome(job: Job, err: Error): Exclude<JobOutcome, 'completed'> {
  // The processor turns a user's cancel into UnrecoverableError('cancelled'): see classify() in video-processor.ts.
  if (err.message.startsWith('cancelled')) return 'cancelled';
  return job.finishedOn ? 'failed' : 'retried';
}

export class WorkerActivity {
  current: CurrentJob | null = null;
  jobsDone = 0;
  jobsFailed = 0;
  lastError: { message: string; at: number; jobId: string | null } | null = null;
  private durations: number[] = [];

  /** Follows `worker` from now on. */
  observe(worker: Worker): this {
    worker.on('active', (job) => this.started(job));
    worker.on('progress', (job, progress) => this.progressed(job.id ?? '', progress));
    worker.on('completed', (job) => this.finished(job, null));
    worker.on('failed', (job, err) => {
      if (job) this.finished(job, err);
    });
    return this;
  }

  private started(job: Job): void {
    const request = jobRequestSchema.safeParse(job.data);
    this.current = {
      id: job.id ?? '',
      stage: 'starting',
      step: null,
      steps: null,
      startedAt: Date.now(),
      user: request.success ? `${request.data.user.platform}:${request.data.user.id}` : null,
      platform: request.success ? request.data.delivery.platform : null,
    };
  }

  private progressed(jobId: string, progress: unknown): void {
    const parsed = jobEventSchema.safeParse(progress);
    if (!this.current || this.current.id !== jobId || !parsed.success) return;
    const event = parsed.data;
    this.current.stage = event.stage;
    this.current.step = event.stage === 'generating' ? event.step : null;
    this.current.steps = event.stage === 'generating' ? event.steps : null;
  }

  private finished(job: Job, err: Error | null): void {
    const ran = this.current?.id === job.id ? this.current : null;
    this.current = ran ? null : this.current;
    if (!err) {
      this.jobsDone += 1;
      if (ran) this.durations = [...this.durations.slice(-(KEEP_DURATIONS - 1)), (Date.now() - ran.startedAt) / 1000];
      return;
    }
    const outcome = attemptOutcome(job, err);
    if (outcome === 'cancelled') return; // a person's choice, not the worker's health
    if (outcome === 'failed') this.jobsFailed += 1;
    this.lastError = { message: err.message, at: Date.now(), jobId: job.id ?? null };
  }

  /**
   * The attempt was given up because another worker owns the job now (its lock was lost): BullMQ emits neither
   * `completed` nor `failed` for it, so without this the worker would report that job as its own for ever.
   */
  discarded(jobId: string, reason: string): void {
    if (this.current?.id === jobId) this.current = null;
    this.lastError = { message: reason, at: Date.now(), jobId };
  }

  medianJobS(): number | null {
    return median(this.durations);
  }

  /** jobId, user and platform of the running job, for worker and engine log lines; null between jobs. */
  logFields(): Record<string, unknown> | null {
    const job = this.current;
    return job ? { jobId: job.id, user: job.user, platform: job.platform } : null;
  }
}
