// Telegram's command menu (setMyCommands) from the registry, and the nudge for a private message that is not a command.
import type { CommandRegistry } from '../../core/command-registry.ts';
import { commandWord } from '../../core/command.ts';
import { text } from '../../core/texts.ts';

// The Bot API's limit on a menu entry's description.
const MENU_DESCRIPTION_MAX = 256;

/** The public menu: listed commands only, so /gpu stays out and non-admins never learn it exists. */
export function telegramMenu(registry: CommandRegistry): { command: string; description: string }[] {
  return registry.listedOn('telegram').map(({ command, word }) => ({ command: word, description: command.description.slice(0, MENU_DESCRIPTION_MAX) }));
}

/** The nudge for a private message that is not a command: it names the registry's main command. */
export function notACommandText(registry: CommandRegistry): string {
  const main = registry.get('video');
  const word = main ? commandWord(main, 'telegram') : null;
  return text('help.not_a_command', { command: word ?? 'help' });
}
