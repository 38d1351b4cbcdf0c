// Discord as a ChatPlatform: the discord.js gateway bot inbound, the REST delivery outbound.
import { resolve } from 'node:path';
import type { ChatPlatform } from '../platform.ts';
import { DiscordDelivery } from './discord-delivery.ts';

export const discordPlatform: ChatPlatform = {
  name: 'discord',
  configured: (config) => config.DISCORD_TOKEN !== '',
  outbound: (config) =>
    new DiscordDelivery({ token: config.DISCORD_TOKEN, apiBase: config.DISCORD_API_BASE, workDir: resolve(config.WORK_DIR), progressIntervalMs: config.DISCORD_EDIT_PACE_MS }),
  // Imported on start only: a worker builds the outbound and never loads the bot (or commands/).
  startInbound: async (config, services) => (await import('./discord-bot.ts')).startDiscordBot(config, services),
};
