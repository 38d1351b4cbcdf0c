// Parses what follows /gen: `<prompt> | preset=draft seed=42 negative="blurry, text"` into the video command's input.
import type { VideoInput } from '../../../commands/index.ts';
import { UserFacingError } from '../../core/errors.ts';
import { truncate } from './telegram-markup.ts';

const OPTION_NAMES = { preset: 'preset', seed: 'seed', negative: 'negativePrompt' } as const;
type OptionName = keyof typeof OPTION_NAMES;

// key=value, key="value with spaces", or anything else (reported back as not understood).
const TOKEN = /(\w+)=(?:"([^"]*)"|(\S+))|\S+/g;

/** Options follow the last `|`; without one the whole text is the prompt. Bad options throw bad_option. */
export function parseGenArguments(payload: string): VideoInput {
  const bar = payload.lastIndexOf('|');
  if (bar < 0) return { prompt: payload };
  const input: VideoInput = { prompt: payload.slice(0, bar) };
  for (const match of payload.slice(bar + 1).matchAll(TOKEN)) {
    const [token, key, quoted, bare] = match;
    const name = key?.toLowerCase();
    if (!name || !(name in OPTION_NAMES)) {
      // The token is echoed back: keep it short so a pasted novel cannot overflow the reply.
      throw new UserFacingError('bad_option', { option: truncate(token, 40) });
    }
    input[OPTION_NAMES[name as OptionName]] = quoted ?? bare ?? '';
  }
  return input;
}
