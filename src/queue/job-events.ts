// The one model of where a job stands (queued -> starting -> generating i/n -> decoding -> encoding -> uploading -> done, or
// failed / cancelled), and the publisher every producer uses: the queue on enqueue, the worker, the cancel paths.
import { z } from 'zod';
import type { DeliveryTarget } from '../core/chat-context.ts';
import { ERROR_TEXTS, type ErrorTextId } from '../core/texts.ts';
import type { JobRequest } from './job-contract.ts';
import type { JobStatusStore } from './job-status-store.ts';

export const JOB_STAGES = ['queued', 'starting', 'generating', 'decoding', 'encoding', 'uploading', 'done', 'failed', 'cancelled'] as const;
export type JobStage = (typeof JOB_STAGES)[number];

/** A stage later in this list never gives way to an earlier one within the same attempt. */
export const STAGE_RANK: Record<JobStage, number> = { queued: 0, starting: 1, generating: 2, decoding: 3, encoding: 4, uploading: 5, done: 6, failed: 6, cancelled: 6 };
const TERMINAL: ReadonlySet<JobStage> = new Set(['done', 'failed', 'cancelled']);

const reasonIds = Object.keys(ERROR_TEXTS) as [ErrorTextId, ...ErrorTextId[]];

export const jobEventSchema = z.discriminatedUnion('stage', [
  /** `noWorker`: no live worker holds the job's model yet (none is up): it waits for one, and the message says so. */
  z.object({ stage: z.literal('queued'), position: z.number().int().positive(), etaSeconds: z.number().nonnegative(), asOf: z.number().int().nonnegative().optional(), noWorker: z.literal(true).optional() }),
  /** A worker took the job (text encoding, the first step on its way): step 0 of `steps`. */
  z.object({ stage: z.literal('starting'), step: z.literal(0), steps: z.number().int().positive() }),
  z.object({ stage: z.literal('generating'), step: z.number().int().nonnegative(), steps: z.number().int().positive() }),
  /** The engine decodes the latents to frames; it says so with the step count it finished (n of n). */
  z.object({ stage: z.literal('decoding'), step: z.number().int().nonnegative().optional(), steps: z.number().int().positive().optional() }),
  z.object({ stage: z.literal('encoding') }),
  z.object({ stage: z.literal('uploading') }),
  /** `note`: what the user should know about the posted clip (re-encoded to fit, sent as a file). */
  z.object({ stage: z.literal('done'), endToEndS: z.number().nonnegative(), note: z.string().optional() }),
  /** `reason`: the text id the user sees; `detail` fills its {reason} where it has one. */
  z.object({ stage: z.literal('failed'), reason: z.enum(reasonIds), detail: z.string().optional() }),
  z.object({ stage: z.literal('cancelled') }),
]);
export type JobEvent = z.infer<typeof jobEventSchema>;

/** The job status record: the latest event that won, with what every platform needs to render it. */
export const jobStatusSchema = z.object({
  jobId: z.string().min(1),
  /** The attempt the event belongs to: a retry's events beat the failed attempt's late ones. */
  attempt: z.number().int().nonnegative(),
  /** Bumped by every accepted event; writers compare it to what they last showed. */
  version: z.number().int().positive(),
  preset: z.string(),
  seed: z.number().int().nonnegative(),
  /** The requester's language: every platform renders the status in it (absent: English). */
  locale: z.string().optional(),
  /** The requester's platform-local id: a status posted anew (a channel message) mentions them. */
  userId: z.string(),
  delivery: z.object({ platform: z.enum(['discord', 'telegram', 'cli', 'web']), target: z.record(z.string(), z.unknown()) }),
  event: jobEventSchema,
  at: z.number().int().positive(),
});
export type JobStatus = z.infer<typeof jobStatusSchema>;

export function isTerminal(stage: JobStage): boolean {
  return TERMINAL.has(stage);
}

/**
 * Where an event sorts within its attempt: stage rank, then the step (generating) or, while queued, when the place
 * was read (`asOf`, ms): a place can move back (a priority job went ahead), so the latest reading wins.
 */
export function eventStep(event: JobEvent): number {
  if (event.stage === 'generating') return event.step;
  if (event.stage === 'queued') return event.asOf ?? 0;
  return 0;
}

/** The job a status is about, as the producers know it. */
export interface JobSubject {
  jobId: string;
  request: Pick<JobRequest, 'preset' | 'seed' | 'delivery' | 'locale'> & { user: Pick<JobRequest['user'], 'id'> };
}

/** Whoever shows statuses in this process (the platforms' outbound side); told of every status that advanced. */
export interface JobStatusSink {
  /** Returns at once for progress (the writer paces and coalesces); waits until a final status is shown. */
  statusChanged(status: JobStatus): Promise<void>;
}

export type PublishOutcome = JobStatus | null;

/** Stores each event with the ordered compare-and-set, then hands the status that won to the local sink. */
export class JobEvents {
  constructor(
    readonly store: JobStatusStore,
    private readonly sink: JobStatusSink | null,
  ) {}

  /** The new status, or null when the event was older than what the record already says (nothing shown). */
  async publish(subject: JobSubject, attempt: number, event: JobEvent): Promise<PublishOutcome> {
    const status = await this.store.advance({
      jobId: subject.jobId,
      attempt,
      preset: subject.request.preset,
      seed: subject.request.seed,
      ...(subject.request.locale ? { locale: subject.request.locale } : {}),
      userId: subject.request.user.id,
      delivery: subject.request.delivery as DeliveryTarget,
      event,
      at: Date.now(),
    });
    if (status && this.sink) await this.sink.statusChanged(status);
    return status;
  }

  /** Re-announces a stored status (a queued job's new place), keeping its subject. */
  async republish(current: JobStatus, event: JobEvent): Promise<PublishOutcome> {
    return this.publish({ jobId: current.jobId, request: { ...current, user: { id: current.userId } } }, current.attempt, event);
  }
}
