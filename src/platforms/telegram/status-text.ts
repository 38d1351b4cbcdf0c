// The job's status message in Telegram HTML, rendered from the one status model, and the video's caption.
import { text } from '../../core/texts.ts';
import type { JobStatus } from '../../queue/job-events.ts';
import { progressBar, statusModel } from '../status-model.ts';
import { escapeHtml, type InlineKeyboard, inlineKeyboard, truncate } from './telegram-markup.ts';

const ICONS = { queued: '⏳', starting: '⚙️', generating: '🎨', decoding: '🎞', encoding: '🎞', uploading: '📤', done: '✅', failed: '❌', cancelled: '🚫' } as const;

export interface TelegramStatus {
  html: string;
  keyboard?: InlineKeyboard;
}

export function renderStatusHtml(status: JobStatus): TelegramStatus {
  const model = statusModel(status);
  const head = `${ICONS[model.stage]} ${escapeHtml(model.headline)}`;
  let html: string;
  if (model.stage === 'cancelled') html = head;
  else if (model.stage === 'failed') html = `${ICONS.failed} ${escapeHtml(truncate(model.note ?? model.headline, 3500))}`;
  else {
    const lines = [head];
    if (model.progress) lines.push(`<code>${progressBar(model.progress.step, model.progress.steps, ['▓', '░'])}</code> ${escapeHtml(text('status.step', model.progress, status.locale))}`);
    lines.push(escapeHtml(model.presetLine));
    if (model.note) lines.push(escapeHtml(model.note));
    html = lines.join('\n');
  }
  const keyboard = model.cancellable ? inlineKeyboard([{ action: 'cancel', jobId: status.jobId, label: text('button.cancel', {}, status.locale) }]) : undefined;
  return { html, ...(keyboard ? { keyboard } : {}) };
}

/** The video's caption: the prompt (quoted, shortened) and the timing stats, escaped, within Telegram's 1024. */
export function captionHtml(prompt: string, statsText: string, note?: string): string {
  const extra = note ? `\n${escapeHtml(note)}` : '';
  // Stats and note are short and bounded; the prompt gives way.
  const room = Math.max(40, 1024 - [...statsText].length - (note ? [...note].length + 1 : 0) - 8);
  return `<i>${escapeHtml(truncate(prompt, Math.min(room, 300)))}</i>\n${escapeHtml(statsText)}${extra}`;
}
