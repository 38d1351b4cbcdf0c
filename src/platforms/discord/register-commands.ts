// Registers the registry's slash commands in DISCORD_GUILD_ID (instant) or globally (up to an hour to appear).
import { REST } from '@discordjs/rest';
import { Routes, type APIApplication, type APIApplicationCommand } from 'discord-api-types/v10';
import type { Env } from '../../../config/env.ts';
import type { PresetBook } from '../../../config/presets.ts';
import { commandRegistry } from '../../core/command-registry.ts';
import { discordCommandDefinitions } from './command-definitions.ts';

export interface Registered {
  scope: 'global' | { guildId: string };
  commands: APIApplicationCommand[];
}

/** Overwrites the application's commands in one call, so renamed or removed ones disappear too. */
export async function registerCommands(config: Env, presets: PresetBook): Promise<Registered> {
  const rest = new REST({ api: config.DISCORD_API_BASE }).setToken(config.DISCORD_TOKEN);
  const app = (await rest.get(Routes.currentApplication())) as APIApplication;
  const body = discordCommandDefinitions(await commandRegistry(config.COMMANDS_DIR), { env: config, presets });
  const guildId = config.DISCORD_GUILD_ID;
  const route = guildId ? Routes.applicationGuildCommands(app.id, guildId) : Routes.applicationCommands(app.id);
  const commands = (await rest.put(route, { body })) as APIApplicationCommand[];
  return { scope: guildId ? { guildId } : 'global', commands };
}
