// What the page shows of one job, in the product's words: built from the job as BullMQ holds it, or updated
// from one job event. Every text comes from the catalogue; the page only places them.
import type { Job } from 'bullmq';
import { formatEta } from '../../../commands/video.ts';
import { formatStats } from '../../core/stats.ts';
import { text } from '../../core/texts.ts';
import { type JobProgress, type JobRequest, jobProgressSchema, jobResultSchema, parseJobRequest } from '../../queue/job-contract.ts';

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

/** Progress as the worker reported it; after the last denoising step the engine decodes the frames. */
export function progressView(view: WebJobView, progress: JobProgress, remainingS: number | null = null): WebJobView {
  let status: string;
  switch (progress.stage) {
    case 'queued':
      return queuedView(view, view.position, null);
    case 'starting':
      status = text('status.starting');
      break;
    case 'generating':
      status =
        progress.steps !== undefined && progress.step === progress.steps
          ? text('status.decoding')
          : progress.steps !== undefined
            ? text('status.generating_step', { step: progress.step ?? 0, steps: progress.steps })
            : text('status.generating');
      break;
    case 'decoding':
      status = text('status.decoding');
      break;
    case 'encoding':
      status = text('status.encoding');
      break;
    case 'delivering':
      status = text('status.uploading');
      break;
    case 'done':
      status = text('status.done');
      break;
  }
  return {
    ...view,
    state: 'running',
    status,
    position: null,
    eta: remainingS === null ? null : text('web.running_eta', { eta: formatEta(remainingS) }),
    step: progress.step ?? view.step,
    steps: progress.steps ?? view.steps,
    canCancel: progress.stage !== 'delivering' && progress.stage !== 'done',
  };
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

export function failedView(view: WebJobView, reason: string): WebJobView {
  const cancelled = /^cancel/i.test(reason);
  return {
    ...view,
    state: cancelled ? 'cancelled' : 'failed',
    status: cancelled ? text('status.cancelled') : text('status.failed'),
    position: null,
    eta: null,
    error: cancelled ? null : text('engine_failed', { reason }),
    canCancel: false,
    canReroll: true,
  };
}

export function cancelledView(view: WebJobView): WebJobView {
  return { ...view, state: 'cancelled', status: text('status.cancelled'), position: null, eta: null, canCancel: false, canReroll: true };
}

/** The view of a job as BullMQ holds it now; `position`/`eta` are asked only for waiting jobs. */
export async function viewOfJob(
  job: Job,
  queueInfo: { position(jobId: string): Promise<number | null>; eta(position: number, preset: string): Promise<number> },
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
  if (state === 'failed') return failedView(view, job.failedReason ?? '');
  if (state === 'active') {
    const progress = jobProgressSchema.safeParse(job.progress);
    return progressView(view, progress.success ? progress.data : { stage: 'starting' });
  }
  const position = await queueInfo.position(jobId);
  return queuedView(view, position, position === null ? null : await queueInfo.eta(position, request.preset));
}
