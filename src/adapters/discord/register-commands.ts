// `npm run discord:register`: registers /video and /gpu in DISCORD_GUILD_ID (instant) or globally (up to an hour to appear).
import { pathToFileURL } from 'node:url';
import { REST } from '@discordjs/rest';
import { Routes, type APIApplication, type APIApplicationCommand } from 'discord-api-types/v10';
import { env, type Env } from '../../../config/env.ts';
import { loadPresets, type PresetBook } from '../../../config/presets.ts';
import { discordCommandDefinitions } from './command-definitions.ts';

export interface Registered {
  scope: 'global' | { guildId: string };
  commands: APIApplicationCommand[];
}

/** Overwrites the application's commands in one call, so renamed or removed ones disappear too. */
export async function registerCommands(config: Env, presets: PresetBook): Promise<Registered> {
  const rest = new REST({ api: config.DISCORD_API_BASE }).setToken(config.DISCORD_TOKEN);
  const app = (await rest.get(Routes.currentApplication())) as APIApplication;
  const body = discordCommandDefinitions(config, presets);
  const guildId = config.DISCORD_GUILD_ID;
  const route = guildId ? Routes.applicationGuildCommands(app.id, guildId) : Routes.applicationCommands(app.id);
  const commands = (await rest.put(route, { body })) as APIApplicationCommand[];
  return { scope: guildId ? { guildId } : 'global', commands };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const config = env();
  if (!config.DISCORD_TOKEN) {
    process.stderr.write('cogcast: DISCORD_TOKEN is not set: nothing to register\n');
    process.exit(78);
  }
  try {
    const { scope, commands } = await registerCommands(config, loadPresets(config.PRESETS_FILE));
    const where = scope === 'global' ? 'globally (may take up to an hour to show)' : `in guild ${scope.guildId}`;
    process.stdout.write(`registered ${commands.map((c) => `/${c.name}`).join(', ')} ${where}\n`);
  } catch (err) {
    process.stderr.write(`cogcast: registering Discord commands failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
