// `npm run discord:register`: registers /video and /gpu in DISCORD_GUILD_ID (instant) or globally (up to an hour to appear).
import { env } from '../../config/env.ts';
import { loadPresets } from '../../config/presets.ts';
import { registerCommands } from '../platforms/discord/register-commands.ts';

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
