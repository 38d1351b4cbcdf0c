// Telegram message markup shared by the bot and the worker's delivery: HTML escaping, length caps, inline buttons.
import { decodeButton, encodeButton, encodeChoice } from '../../core/buttons.ts';
import type { ReplyButton, ReplyChoice } from '../../core/chat-context.ts';

/** Every text we send uses parse_mode HTML; anything that came from a person goes through escapeHtml. */
export const PARSE_MODE = 'HTML' as const;

/** Bot API caps, counted on the text after entity parsing (so on the raw text, before escaping). */
export const MESSAGE_MAX_CHARS = 4096;
export const CAPTION_MAX_CHARS = 1024;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts `text` to `max` characters (code points, so no half emoji), marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Plain text to a safe HTML message body that fits one message. */
export function htmlText(text: string, max = MESSAGE_MAX_CHARS): string {
  return escapeHtml(truncate(text, max));
}

export interface InlineKeyboard {
  inline_keyboard: { text: string; callback_data: string }[][];
}

/** callback_data through the one button codec (src/core/buttons.ts): `reroll:` plus a UUID job id is 43 of 64 bytes. */
export function callbackData(button: Pick<ReplyButton, 'action' | 'jobId'>): string {
  return encodeButton(button);
}

/** null for data that is not ours; throws bad_job_id for a forged or stale job id. */
export function parseCallbackData(data: string): Pick<ReplyButton, 'action' | 'jobId'> | null {
  return decodeButton(data);
}

/** One row of buttons, then the rows of choices; nothing at all means "no keyboard" (Telegram removes it on edit). */
export function inlineKeyboard(buttons: readonly ReplyButton[] | undefined, choices: readonly (readonly ReplyChoice[])[] = []): InlineKeyboard | undefined {
  const rows = [
    ...(buttons && buttons.length > 0 ? [buttons.map((b) => ({ text: b.label, callback_data: callbackData(b) }))] : []),
    ...choices.filter((row) => row.length > 0).map((row) => row.map((c) => ({ text: c.selected ? `✓ ${c.label}` : c.label, callback_data: encodeChoice(c) }))),
  ];
  return rows.length > 0 ? { inline_keyboard: rows } : undefined;
}
