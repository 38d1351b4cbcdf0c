// The status message as words, before any markup: one model of a job's status that every platform renders in
// its own markup (Telegram HTML, Discord message, the terminal). Words come from the text catalogue.
import { formatEta } from '../../commands/video.ts';
import { renderUserMessage } from '../core/errors.ts';
import { DEFAULT_LOCALE, type TextId, type TextParams, text as textIn } from '../core/texts.ts';
import { formatNumber } from '../core/locale.ts';
import type { JobEvent, JobStatus } from '../queue/job-events.ts';

export interface StatusModel {
  stage: JobEvent['stage'];
  /** The stage in words, e.g. `Queued: #2 in line, ready in about 40 s.` or `Encoding the MP4…`. */
  headline: string;
  /** Set while generating: how far the denoising is. */
  progress?: { step: number; steps: number };
  /** `tiny · seed 42`: which take this is. */
  presetLine: string;
  /** An extra sentence (done: re-encoded to fit; failed: why). */
  note?: string;
  /** Whether a Cancel button still makes sense. */
  cancellable: boolean;
  /** Whether a Try again button makes sense (a failure the user may retry). */
  retryable: boolean;
}

export function statusModel(status: Pick<JobStatus, 'event' | 'preset' | 'seed' | 'locale'>): StatusModel {
  const { event } = status;
  const locale = status.locale ?? DEFAULT_LOCALE;
  const text = (id: TextId, params: TextParams = {}) => textIn(id, params, locale);
  const presetLine = text('video.preset_line', { preset: status.preset, seed: status.seed });
  const base = { stage: event.stage, presetLine, cancellable: false, retryable: false };
  switch (event.stage) {
    case 'queued':
      return { ...base, headline: text('video.queued', { position: event.position, eta: formatEta(event.etaSeconds, locale) }), ...(event.noWorker ? { note: text('video.no_worker') } : {}), cancellable: true };
    case 'starting':
      return { ...base, headline: text('status.starting'), cancellable: true };
    case 'generating':
      return { ...base, headline: text('status.generating'), progress: { step: event.step, steps: event.steps }, cancellable: true };
    case 'decoding':
      return { ...base, headline: text('status.decoding'), cancellable: true };
    case 'encoding':
      return { ...base, headline: text('status.encoding'), cancellable: true };
    case 'uploading':
      return { ...base, headline: text('status.uploading') };
    case 'done': {
      const seconds = formatNumber(event.endToEndS, locale, event.endToEndS < 10 ? 1 : 0);
      return { ...base, headline: text('status.done_in', { seconds }), ...(event.note ? { note: event.note } : {}) };
    }
    case 'failed':
      return { ...base, headline: text('status.failed'), note: renderUserMessage(event.reason, { reason: event.detail ?? '' }, locale), retryable: true };
    case 'cancelled':
      return { ...base, headline: text('status.cancelled') };
  }
}

/** A fixed-width bar for step/steps, drawn with the platform's two glyphs. */
export function progressBar(step: number, steps: number, glyphs: [string, string], width = 12): string {
  const filled = steps > 0 ? Math.min(width, Math.max(0, Math.round((step / steps) * width))) : 0;
  return glyphs[0].repeat(filled) + glyphs[1].repeat(width - filled);
}
