// The texts of a job's status message as it moves (queued -> generating i/n -> encoding -> done), in Telegram HTML.
import type { UserErrorCode } from '../../core/errors.ts';
import { renderUserMessage } from '../../core/errors.ts';
import type { JobStats } from '../../core/stats.ts';
import type { JobProgress, JobRequest } from '../../queue/job-contract.ts';
import { escapeHtml, truncate } from './telegram-markup.ts';
import { isCancellable } from '../../queue/cancel-gate.ts';

const BAR_WIDTH = 12;

/** `▓▓▓▓░░░░░░░░` for step 4 of 12: readable on a phone, no markup needed. */
export function progressBar(step: number, steps: number, width = BAR_WIDTH): string {
  const filled = steps > 0 ? Math.min(width, Math.max(0, Math.round((step / steps) * width))) : 0;
  return '▓'.repeat(filled) + '░'.repeat(width - filled);
}

function presetLine(job: Pick<JobRequest, 'preset' | 'seed'>): string {
  return `${escapeHtml(job.preset)} · seed ${job.seed}`;
}

/** The status while the job is on its way; null for stages that need no message of their own. */
export function progressText(job: Pick<JobRequest, 'preset' | 'seed'>, update: JobProgress & { position?: number }): string {
  const head = (() => {
    switch (update.stage) {
      case 'queued':
        return update.position ? `⏳ Queued: #${update.position} in line` : '⏳ Queued';
      case 'starting':
        return '⚙️ Starting…';
      case 'generating': {
        const step = update.step ?? 0;
        const steps = update.steps ?? 0;
        return `🎨 Generating\n<code>${progressBar(step, steps)}</code> step ${step}/${steps}`;
      }
      case 'decoding':
        return '🎞 Decoding frames…';
      case 'encoding':
        return '🎞 Encoding the MP4…';
      case 'delivering':
        return '📤 Uploading…';
      case 'done':
        return '✅ Done';
    }
  })();
  return `${head}\n${presetLine(job)}`;
}

/** Stages during which a Cancel button still makes sense. */
export function cancellable(update: JobProgress): boolean {
  return isCancellable(update.stage);
}

export function doneText(job: Pick<JobRequest, 'preset' | 'seed'>, stats: JobStats, note?: string): string {
  const took = stats.endToEndS < 10 ? stats.endToEndS.toFixed(1) : Math.round(stats.endToEndS).toString();
  const lines = [`✅ Done in ${took} s: the video is below.`, presetLine(job)];
  if (note) lines.push(escapeHtml(note));
  return lines.join('\n');
}

export function cancelledText(): string {
  return `🚫 ${escapeHtml(renderUserMessage('cancelled'))}`;
}

export function failedText(failure: { code: UserErrorCode; message: string }): string {
  if (failure.code === 'cancelled') return cancelledText();
  return `❌ ${escapeHtml(truncate(renderUserMessage(failure.code, { reason: failure.message }), 3500))}`;
}

/** The video's caption: the prompt (quoted, shortened) and the timing stats, escaped, within Telegram's 1024. */
export function captionHtml(prompt: string, statsText: string, note?: string): string {
  const extra = note ? `\n${escapeHtml(note)}` : '';
  // Stats and note are short and bounded; the prompt gives way.
  const room = Math.max(40, 1024 - [...statsText].length - (note ? [...note].length + 1 : 0) - 8);
  return `<i>${escapeHtml(truncate(prompt, Math.min(room, 300)))}</i>\n${escapeHtml(statsText)}${extra}`;
}
