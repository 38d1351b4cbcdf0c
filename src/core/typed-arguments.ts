// Parses a typed command line for any command: `<free text> | key=value key="with spaces"`, option names from its schema.
import type { OptionSpec } from './command-options.ts';
import { UserFacingError } from './errors.ts';
import { echoInput } from './prompt.ts';

// key=value, key="value with spaces", or anything else (reported back as not understood).
const TOKEN = /(\w+)=(?:"([^"]*)"|(\S+))|\S+/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The last `|` outside a quoted option value, or -1: the text may hold bars, and so may negative="a|b". */
function optionsBar(payload: string, names: string[]): number {
  if (names.length === 0) return payload.lastIndexOf('|');
  // A closed quoted value of one of our options (so a stray `x="` in a prompt cannot swallow the separator), or a
  // bar. The fixed lookbehind keeps the scan linear on a 100k-character paste.
  const quotedOrBar = new RegExp(`(?<=\\b(?:${names.map(escapeRe).join('|')})=)"[^"]*"|\\|`, 'gi');
  let bar = -1;
  for (const match of payload.matchAll(quotedOrBar)) if (match[0] === '|') bar = match.index;
  return bar;
}

/** A typed value as the field's type wants it: whole numbers become numbers, anything else stays text for the schema to judge. */
export function typedValue(option: OptionSpec, raw: string): unknown {
  if ((option.type === 'integer' || option.type === 'number') && /^[+-]?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (option.type === 'boolean' && /^(true|false|yes|no|1|0)$/i.test(raw)) return /^(true|yes|1)$/i.test(raw);
  return raw;
}

/**
 * The raw input of a command from what follows its word: the free text (before the last bar outside quotes) goes
 * to the field marked `text`, `name=value` pairs after it to the field of that name. Unknown names throw bad_option.
 */
export function parseTypedArguments(payload: string, options: readonly OptionSpec[]): Record<string, unknown> {
  // Own properties only: `__proto__=` and `constructor=` are not options, whatever Object.prototype holds.
  const byName = new Map(options.filter((o) => !o.meta.text && !o.meta.attachment).map((o) => [o.name.toLowerCase(), o] as const));
  const textField = options.find((o) => o.meta.text);
  const bar = optionsBar(payload, [...byName.keys()]);
  const input: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const text = (bar < 0 ? payload : payload.slice(0, bar)).trim();
  // Blank free text is no value at all: a required field then gets its own refusal (prompt_empty).
  if (textField && text !== '') input[textField.field] = typedValue(textField, text);
  if (bar < 0) return { ...input };
  for (const match of payload.slice(bar + 1).matchAll(TOKEN)) {
    const [token, key, quoted, bare] = match;
    const option = key ? byName.get(key.toLowerCase()) : undefined;
    if (!option) {
      // The token is echoed back: cleaned and short, so a pasted novel or a bidi override cannot reach the reply.
      throw new UserFacingError('bad_option', { option: echoInput(token, 40) });
    }
    const value = quoted ?? bare ?? '';
    // `seed=` with nothing after it means "no seed", as leaving it out does.
    if (value === '' && option.type !== 'string') continue;
    input[option.field] = typedValue(option, value);
  }
  return { ...input };
}
