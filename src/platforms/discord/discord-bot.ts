// Starts the Discord bot: a discord.js client (gateway URL from DISCORD_API_BASE's /gateway/bot) routing interactions to the registry.
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { Env } from '../../../config/env.ts';
import type { CommandServices } from '../../core/command.ts';
import { commandRegistry } from '../../core/command-registry.ts';
import { logger } from '../../core/log.ts';
import type { RunningInbound } from '../platform.ts';
import { everyoneRolesConfigured } from './discord-admins.ts';
import { handleInteraction } from './interaction-handler.ts';

export interface RunningDiscordBot extends RunningInbound {
  client: Client<true>;
}

export async function startDiscordBot(config: Env, services: CommandServices): Promise<RunningDiscordBot> {
  const log = logger('discord');
  const registry = await commandRegistry(config.COMMANDS_DIR);
  // Interactions reach a bot whatever its intents; Guilds keeps guilds, channels and roles cached. No privileged intent.
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: config.DISCORD_API_BASE } });
  client.on(Events.InteractionCreate, (interaction) => void handleInteraction(interaction, registry, services, log));
  client.on(Events.Error, (err) => log.error({ err: err.message }, 'discord client error'));
  client.on(Events.Warn, (message) => log.warn(message));
  // A guild's @everyone role has the guild's id: listed as an admin role it would make every member an admin.
  const warnEveryone = (guildIds: Iterable<string>) => {
    const roles = everyoneRolesConfigured(config, guildIds);
    if (roles.length > 0) log.warn({ roles }, 'DISCORD_ADMIN_ROLE_IDS lists a guild\'s @everyone role: ignored, it does not make anyone an admin');
  };
  client.on(Events.GuildCreate, (guild) => warnEveryone([guild.id]));
  const ready = once(client, Events.ClientReady);
  try {
    await client.login(config.DISCORD_TOKEN);
    await ready;
  } catch (err) {
    await client.destroy();
    throw new Error(`Discord login failed: ${(err as Error).message}`);
  }
  warnEveryone([...client.guilds.cache.keys(), ...(config.DISCORD_GUILD_ID ? [config.DISCORD_GUILD_ID] : [])]);
  log.info({ user: client.user?.tag, api: config.DISCORD_API_BASE }, 'Discord bot connected');
  return {
    platform: 'discord',
    client: client as Client<true>,
    async stop() {
      await client.destroy();
    },
  };
}
