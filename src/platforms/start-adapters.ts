// Starts the chat adapters whose tokens are configured; each returns a stop function.
import type { Env } from '../../config/env.ts';
import type { CommandServices } from '../core/command.ts';
import { startDiscordBot } from './discord/discord-bot.ts';
import { startTelegramBot } from './telegram/telegram-bot.ts';

export interface RunningAdapter {
  platform: string;
  stop(): Promise<void>;
}

export async function startChatAdapters(config: Env, services: CommandServices): Promise<RunningAdapter[]> {
  const adapters: RunningAdapter[] = [];
  if (config.DISCORD_TOKEN) adapters.push(await startDiscordBot(config, services));
  if (config.TELEGRAM_BOT_TOKEN) adapters.push(await startTelegramBot(config, services));
  return adapters;
}
