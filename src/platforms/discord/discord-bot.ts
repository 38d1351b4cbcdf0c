// Starts the Discord bot: a discord.js client (gateway URL from DISCORD_API_BASE's /gateway/bot) routing interactions.
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { Env } from '../../../config/env.ts';
import type { CommandServices } from '../../core/command.ts';
import { logger } from '../../core/log.ts';
import type { RunningInbound } from '../platform.ts';
import { handleInteraction } from './interaction-handler.ts';

export interface RunningDiscordBot extends RunningInbound {
  client: Client<true>;
}

export async function startDiscordBot(config: Env, services: CommandServices): Promise<RunningDiscordBot> {
  const log = logger('discord');
  // Interactions reach a bot whatever its intents; Guilds keeps guilds, channels and roles cached. No privileged intent.
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: config.DISCORD_API_BASE } });
  client.on(Events.InteractionCreate, (interaction) => void handleInteraction(interaction, services, log));
  client.on(Events.Error, (err) => log.error({ err: err.message }, 'discord client error'));
  client.on(Events.Warn, (message) => log.warn(message));
  const ready = once(client, Events.ClientReady);
  try {
    await client.login(config.DISCORD_TOKEN);
    await ready;
  } catch (err) {
    await client.destroy();
    throw new Error(`Discord login failed: ${(err as Error).message}`);
  }
  log.info({ user: client.user?.tag, api: config.DISCORD_API_BASE }, 'Discord bot connected');
  return {
    platform: 'discord',
    client: client as Client<true>,
    async stop() {
      await client.destroy();
    },
  };
}
