// /start (Telegram's first message to a bot): the same answer as /help, kept out of menus.
import type { Command } from '../src/core/command.ts';
import { helpCommand } from './help.ts';

export default {
  ...helpCommand,
  name: 'start',
  words: { discord: null, telegram: 'start', cli: null },
  listed: false,
} satisfies Command<Record<string, never>>;
