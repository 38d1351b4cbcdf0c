// /gen's text as the video command's input: `<prompt> | preset=draft seed=42 negative="blurry, text"` (the generic typed parser).
import { type VideoInput, videoCommand } from '../../../commands/video.ts';
import { parseCommandInput } from '../../core/command.ts';
import { commandOptions } from '../../core/command-options.ts';
import { parseTypedArguments } from '../../core/typed-arguments.ts';

/** Options follow the last `|` outside quotes; without one the whole text is the prompt. Bad options throw bad_option. */
export function parseGenArguments(payload: string): VideoInput {
  return parseCommandInput(videoCommand, parseTypedArguments(payload, commandOptions(videoCommand)));
}
