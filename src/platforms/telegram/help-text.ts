// Telegram's command menu (setMyCommands) from the registry, and the nudge for a private message that is not a command.
import type { CommandRegistry } from '../../core/command-registry.ts';
import { commandWord } from '../../core/command.ts';
import type { Locale } from '../../core/locale.ts';
import { DEFAULT_LOCALE, localizeEnglish, text } from '../../core/texts.ts';

// The Bot API's limit on a menu entry's description.
const MENU_DESCRIPTION_MAX = 256;

/** The public menu: listed commands only, so /gpu stays out and non-admins never learn it exists. */
export function telegramMenu(registry: CommandRegistry, locale: string = DEFAULT_LOCALE): { command: string; description: string }[] {
  return registry.listedOn('telegram').map(({ command, word }) => ({ command: word, description: localizeEnglish(command.description, locale).slice(0, MENU_DESCRIPTION_MAX) }));
}

/** setMyCommands' language_code is a two-letter ISO 639-1 code: zh-CN's menu is the one for `zh`. */
export function telegramLanguageCode(locale: Locale): string {
  return locale.slice(0, 2);
}

/** The nudge for a private message that is not a command: it names the registry's main command. */
export function notACommandText(registry: CommandRegistry, locale: string = DEFAULT_LOCALE): string {
  const main = registry.get('video');
  const word = main ? commandWord(main, 'telegram') : null;
  return text('help.not_a_command', { command: word ?? 'help' }, locale);
}
