// Prompt clean-up and validation: what reaches the engine is printable, bounded and allowed.
import { UserFacingError } from './errors.ts';

// Control characters (except none: newlines become spaces) and invisible format characters (zero-width,
// bidi overrides) are stripped: they break captions and hide words from the blocklist. So are lone surrogates
// (half an emoji): not valid Unicode, so no chat API or text encoder takes them.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu;

export function cleanPrompt(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(INVISIBLE, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A person's text repeated in an error reply (an unknown preset, an option not understood): cleaned like a prompt
 * and cut to `max` characters with an ellipsis, so no paste, control or bidi character reaches any platform or terminal.
 */
export function echoInput(raw: string, max: number): string {
  // Only the head can be shown: clean a bounded slice so a 100k-character paste costs nothing.
  const head = raw.slice(0, max * 8);
  const chars = [...cleanPrompt(head)];
  if (chars.length <= max && head.length === raw.length) return chars.join('');
  return `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

export interface Blocklist {
  matches(text: string): boolean;
}

/** Parses PROMPT_BLOCKLIST: comma-separated words (whole-word, case-insensitive) or /regex/ patterns. */
export function parseBlocklist(spec: string): Blocklist {
  const patterns = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry) => {
      const re = /^\/(.+)\/$/.exec(entry);
      if (re?.[1]) return new RegExp(re[1], 'iu');
      const escaped = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(`(^|[^\\p{L}\\p{N}])${escaped}($|[^\\p{L}\\p{N}])`, 'iu');
    });
  return { matches: (text) => patterns.some((p) => p.test(text)) };
}

/** Returns the cleaned prompt or throws the UserFacingError that explains why it cannot be used. */
export function validatePrompt(raw: string | undefined, maxChars: number, blocklist: Blocklist): string {
  // Check the raw length first so a 100k-character paste is refused before any heavier work.
  if (raw !== undefined && raw.length > maxChars * 4) {
    throw new UserFacingError('prompt_too_long', { length: raw.length, max: maxChars });
  }
  const prompt = cleanPrompt(raw ?? '');
  if (prompt.length === 0) throw new UserFacingError('prompt_empty');
  if ([...prompt].length > maxChars) {
    throw new UserFacingError('prompt_too_long', { length: [...prompt].length, max: maxChars });
  }
  if (blocklist.matches(prompt)) throw new UserFacingError('prompt_blocked');
  return prompt;
}
