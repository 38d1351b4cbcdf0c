// Parses what follows /gen: `<prompt> | preset=draft seed=42 negative="blurry, text"` into the video command's input.
import type { VideoInput } from '../../../commands/index.ts';
import { UserFacingError } from '../../core/errors.ts';
import { echoInput } from '../../core/prompt.ts';

const OPTION_NAMES = { preset: 'preset', seed: 'seed', negative: 'negativePrompt' } as const;
type OptionName = keyof typeof OPTION_NAMES;

// key=value, key="value with spaces", or anything else (reported back as not understood).
const TOKEN = /(\w+)=(?:"([^"]*)"|(\S+))|\S+/g;
// A closed quoted option value (`negative="a|b"`: only our names, so a stray `x="` in a prompt cannot swallow the
// separator) or a bar. The fixed lookbehind keeps the scan linear on a 100k-character paste.
const QUOTED_OR_BAR = new RegExp(`(?<=\\b(?:${Object.keys(OPTION_NAMES).join('|')})=)"[^"]*"|\\|`, 'gi');

/** The last `|` outside a quoted option value, or -1: the prompt may hold bars, and so may negative="a|b". */
function optionsBar(payload: string): number {
  let bar = -1;
  for (const match of payload.matchAll(QUOTED_OR_BAR)) if (match[0] === '|') bar = match.index;
  return bar;
}

/** Options follow the last `|` outside quotes; without one the whole text is the prompt. Bad options throw bad_option. */
export function parseGenArguments(payload: string): VideoInput {
  const bar = optionsBar(payload);
  if (bar < 0) return { prompt: payload };
  const input: VideoInput = { prompt: payload.slice(0, bar) };
  for (const match of payload.slice(bar + 1).matchAll(TOKEN)) {
    const [token, key, quoted, bare] = match;
    const name = key?.toLowerCase();
    if (!name || !(name in OPTION_NAMES)) {
      // The token is echoed back: cleaned and short, so a pasted novel or a bidi override cannot reach the reply.
      throw new UserFacingError('bad_option', { option: echoInput(token, 40) });
    }
    input[OPTION_NAMES[name as OptionName]] = quoted ?? bare ?? '';
  }
  return input;
}
