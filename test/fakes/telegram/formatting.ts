/**
 * Turns text + parse_mode into what Telegram stores: plain text plus entities, or the exact
 * "can't parse entities" error. The product sends HTML only, so HTML (TDLib's parser, which the Bot API
 * server runs) is the one mode implemented; any other parse_mode is refused loudly.
 */

import { isSpace, ParseError, sortEntities, type FormattedText } from './entities.ts';
import { badRequest } from './errors.ts';
import { parseHtml } from './parse-html.ts';
import type { TgMessageEntity } from './types.ts';

export type { FormattedText } from './entities.ts';

/**
 * Full send-path processing: parse markup (explicit `entities` win over parse_mode, as in the API),
 * trim surrounding whitespace, then add the entities Telegram detects on its own (commands, mentions...).
 */
export function formatText(raw: string, parseMode: string | undefined, explicit?: TgMessageEntity[]): FormattedText {
  let parsed: FormattedText;
  if (explicit !== undefined) {
    parsed = { text: raw, entities: explicit.map((e) => ({ ...e })) };
  } else {
    try {
      parsed = parseMarkup(raw, parseMode);
    } catch (error) {
      if (error instanceof ParseError) throw badRequest(`can't parse entities: ${error.message}`);
      throw error;
    }
  }
  const trimmed = trim(parsed);
  return { text: trimmed.text, entities: sortEntities(mergeDetected(trimmed.entities, detectEntities(trimmed.text))) };
}

/** Markup parsing alone (no trimming or detection): what TDLib's parse_html returns. */
export function parseMarkup(text: string, parseMode: string | undefined): FormattedText {
  const mode = (parseMode ?? '').toLowerCase();
  if (mode === '') return { text, entities: [] };
  if (mode === 'html') return parseHtml(text);
  // Markdown and MarkdownV2 exist on Telegram but not in this fake: a bot using them is told so.
  throw badRequest(`unsupported parse_mode (FakeTelegramServer implements HTML only): ${parseMode}`);
}

/** Same as parseMarkup but returns the error text instead of throwing (handy for table tests). */
export function tryParseMarkup(text: string, parseMode: string): FormattedText | { error: string } {
  try {
    return parseMarkup(text, parseMode);
  } catch (error) {
    if (error instanceof ParseError) return { error: error.message };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Post-processing shared by every send: trimming and Telegram's own entity detection.

/** Telegram drops leading/trailing whitespace from texts and captions; entities are clipped to match. */
function trim(formatted: FormattedText): FormattedText {
  const { text } = formatted;
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  if (start === 0 && end === text.length) return formatted;
  const entities: TgMessageEntity[] = [];
  for (const entity of formatted.entities) {
    const from = Math.max(entity.offset, start);
    const to = Math.min(entity.offset + entity.length, end);
    if (to > from) entities.push({ ...entity, offset: from - start, length: to - from });
  }
  return { text: text.slice(start, end), entities };
}

const WORD = /[\p{L}\p{N}_]/u;
/** Short @names that are inline bots rather than people; TDLib keeps them as mentions. */
const SHORT_MENTIONS = new Set(['gif', 'wiki', 'vid', 'bing', 'pic', 'bold', 'imdb', 'coub', 'like', 'vote']);

/** Bot commands and mentions (what routing and privacy mode read), found the way TDLib's matchers do. */
export function detectEntities(text: string): TgMessageEntity[] {
  const found: TgMessageEntity[] = [];
  const prevChar = (index: number) => (index > 0 ? String.fromCodePoint(text.codePointAt(index - 1)!) : '');
  const isWordAt = (index: number) => index < text.length && WORD.test(String.fromCodePoint(text.codePointAt(index)!));

  for (const m of text.matchAll(/\/([a-zA-Z0-9_]{1,64})(@[a-zA-Z0-9_]{3,32})?/g)) {
    const start = m.index;
    const end = start + m[0].length;
    const before = prevChar(start);
    if (WORD.test(before) || before === '/' || before === '<' || before === '>') continue;
    const after = text[end];
    if (isWordAt(end) || after === '/' || after === '<' || after === '>' || after === '@') continue;
    found.push({ type: 'bot_command', offset: start, length: end - start });
  }
  for (const m of text.matchAll(/@([a-zA-Z0-9_]{2,32})/g)) {
    const start = m.index;
    const end = start + m[0].length;
    if (WORD.test(prevChar(start)) || isWordAt(end)) continue;
    const name = m[1]!;
    if (name.length < 4 && !SHORT_MENTIONS.has(name.toLowerCase())) continue;
    found.push({ type: 'mention', offset: start, length: end - start });
  }
  // Earlier matches win on overlap (a command's "@bot" suffix is not a separate mention).
  const kept: TgMessageEntity[] = [];
  for (const entity of sortEntities(found)) {
    if (!kept.some((k) => entity.offset < k.offset + k.length && k.offset < entity.offset + entity.length)) kept.push(entity);
  }
  return kept;
}

const SPLITTABLE = new Set(['bold', 'italic', 'underline', 'strikethrough', 'spoiler']);

/** Detected entities never cut across explicit ones, except plain styling that can nest around them. */
function mergeDetected(explicit: TgMessageEntity[], detected: TgMessageEntity[]): TgMessageEntity[] {
  const blocking = explicit.filter((e) => !SPLITTABLE.has(e.type));
  const extra = detected.filter(
    (d) => !blocking.some((e) => d.offset < e.offset + e.length && e.offset < d.offset + d.length),
  );
  return [...explicit, ...extra];
}
