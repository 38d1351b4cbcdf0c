// What the page shows of one job, in the product's words: built from the job as BullMQ holds it, or updated
// from one job event. Every text comes from the catalogue; the page only places them.
import type { Job } from 'bullmq';
import { formatEta } from '../../../commands/video.ts';
import { formatStats } from '../../core/stats.ts';
import { text } from '../../core/texts.ts';
import { type JobRequest, jobResultSchema, parseJobRequest } from '../../queue/job-contract.ts';
import { type JobEvent, type JobStatus, jobEventSchema } from '../../queue/job-events.ts';
import { statusModel } from '../status-model.ts';

export type WebJobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface WebJobView {
  jobId: string;
  prompt: string;
  preset: string;
  seed: number;
  createdAt: number;
  state: WebJobState;
  /** The status line: "Queued: #2 in line", "Generating · step 3/8", "Done"... */
  status: string;
  position: number | null;
  /** "ready in about 12 s" while queued or running, else null. */
  eta: string | null;
  step: number | null;
  steps: number | null;
  /** Set once done. */
  videoUrl: string | null;
  stats: string | null;
  durationS: number | null;
  demoModel: boolean;
  /** Set once failed: the reason, as chat shows it. */
  error: string | null;
  canCancel: boolean;
  canReroll: boolean;
}

/** The web user a job belongs to, or null when it is another platform's. */
export function webOwner(request: JobRequest): string | null {
  if (request.delivery.platform !== 'web') return null;
  const userId = request.delivery.target.userId;
  return typeof userId === 'string' ? userId : null;
}

export function clipUrl(jobId: string): string {
  return `/clips/${encodeURIComponent(jobId)}.mp4`;
}

function base(jobId: string, request: JobRequest): WebJobView {
  return {
    jobId,
    prompt: request.prompt,
    preset: request.preset,
    seed: request.seed,
    createdAt: request.createdAt,
    state: 'queued',
    status: text('status.queued'),
    position: null,
    eta: null,
    step: null,
    steps: null,
    videoUrl: null,
    stats: null,
    durationS: null,
    demoModel: false,
    error: null,
    canCancel: true,
    canReroll: false,
  };
}

export function queuedView(view: WebJobView, position: number | null, etaSeconds: number | null): WebJobView {
  return {
    ...view,
    state: 'queued',
    position,
    status: position === null ? text('status.queued') : text('status.queued_position', { position }),
    eta: etaSeconds === null ? null : text('web.eta', { eta: formatEta(etaSeconds) }),
    canCancel: true,
    canReroll: false,
  };
}

/** A job event as the page shows it: the one status model's words (src/platforms/status-model.ts). */
export function eventView(view: WebJobView, event: JobEvent, remainingS: number | null = null): WebJobView {
  const model = statusModel({ event, preset: view.preset, seed: view.seed });
  switch (event.stage) {
    case 'queued':
      return queuedView(view, event.position, event.etaSeconds);
    case 'failed':
      return { ...view, state: 'failed', status: model.headline, position: null, eta: null, error: model.note ?? null, canCancel: false, canReroll: true };
    case 'cancelled':
      return cancelledView(view);
    case 'done':
      // The video and its stats come with the job's completion (doneView).
      return { ...view, status: model.headline, eta: null, canCancel: false };
    default: {
      const progress = model.progress;
      return {
        ...view,
        state: 'running',
        status: progress ? text('status.generating_step', { step: progress.step, steps: progress.steps }) : model.headline,
        position: null,
        eta: remainingS === null ? null : text('web.running_eta', { eta: formatEta(remainingS) }),
        step: progress?.step ?? ('step' in event && event.step !== undefined ? event.step : view.step),
        steps: progress?.steps ?? ('steps' in event && event.steps !== undefined ? event.steps : view.steps),
        canCancel: model.cancellable,
      };
    }
  }
}

export function doneView(view: WebJobView, returnValue: unknown): WebJobView {
  const result = jobResultSchema.safeParse(returnValue);
  if (!result.success) return { ...view, state: 'done', status: text('status.done'), canCancel: false, canReroll: true };
  const { stats } = result.data;
  return {
    ...view,
    state: 'done',
    status: text('status.done_in', { seconds: Math.round(stats.endToEndS) }),
    position: null,
    eta: null,
    step: stats.steps,
    steps: stats.steps,
    videoUrl: clipUrl(view.jobId),
    // The demo note has its own highlighted line on the page (demoModel), not a second one in the stats.
    stats: formatStats({ ...stats, demoModel: false }),
    durationS: stats.frames / stats.fps,
    demoModel: stats.demoModel === true,
    canCancel: false,
    canReroll: true,
  };
}

/** A failed job: the reason the status record holds (as chat shows it), else BullMQ's failedReason. */
export function failedView(view: WebJobView, reason: string, status: JobStatus | null = null): WebJobView {
  if (status && (status.event.stage === 'failed' || status.event.stage === 'cancelled')) return eventView(view, status.event);
  if (/^cancel/i.test(reason)) return cancelledView(view);
  return { ...view, state: 'failed', status: text('status.failed'), position: null, eta: null, error: text('engine_failed', { reason }), canCancel: false, canReroll: true };
}

export function cancelledView(view: WebJobView): WebJobView {
  return { ...view, state: 'cancelled', status: text('status.cancelled'), position: null, eta: null, canCancel: false, canReroll: true };
}

/** The view of a job as BullMQ holds it now; `position`/`eta` are asked only for waiting jobs. */
export async function viewOfJob(
  job: Job,
  queueInfo: { position(jobId: string): Promise<number | null>; eta(position: number, preset: string): Promise<number> },
  statusOf: (jobId: string) => Promise<JobStatus | null>,
): Promise<WebJobView | null> {
  let request: JobRequest;
  try {
    request = parseJobRequest(job.data);
  } catch {
    return null;
  }
  const jobId = job.id ?? request.requestId;
  const view = base(jobId, request);
  const state = await job.getState();
  if (state === 'completed') return doneView(view, job.returnvalue);
  if (state === 'failed') return failedView(view, job.failedReason ?? '', await statusOf(jobId).catch(() => null));
  if (state === 'active') {
    const event = jobEventSchema.safeParse(job.progress);
    return eventView(view, event.success ? event.data : { stage: 'starting', step: 0, steps: 1 });
  }
  const position = await queueInfo.position(jobId);
  return queuedView(view, position, position === null ? null : await queueInfo.eta(position, request.preset));
}
