// /help: how to use the bot, derived from the command registry (words, examples, options, limits).
import { z } from 'zod';
import type { Command } from '../src/core/command.ts';
import { commandRegistry } from '../src/core/command-registry.ts';
import { spansToPlain, typedHelp } from '../src/core/help.ts';
import { text } from '../src/core/texts.ts';

export const helpCommand = {
  name: 'help',
  description: text('command.help'),
  input: z.object({}),
  // Discord shows commands and their options in its own picker; the CLI has --help.
  words: { discord: null, cli: null },
  ack: 'public',
  async execute(ctx, _input, services) {
    const registry = await commandRegistry(services.env.COMMANDS_DIR);
    const rich = typedHelp(registry, ctx.user.platform, services, ctx.botUsername, ctx.locale);
    await ctx.reply({ kind: 'info', text: spansToPlain(rich), rich });
  },
} satisfies Command<Record<string, never>>;

export default helpCommand;
