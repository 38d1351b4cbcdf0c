// The slash commands as Discord registers them: /video (prompt, preset, seed) and /gpu status for admins.
import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Env } from '../../../config/env.ts';
import type { PresetBook } from '../../../config/presets.ts';
import { MAX_SEED } from '../../core/snap-to-preset.ts';

// Discord's own limits on a string option and on the number of choices.
const DISCORD_MAX_STRING_OPTION = 6000;
const DISCORD_MAX_CHOICES = 25;

export function discordCommandDefinitions(config: Pick<Env, 'PROMPT_MAX_CHARS'>, presets: PresetBook): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const choices = presets.names.slice(0, DISCORD_MAX_CHOICES).map((name) => {
    const preset = presets.byName.get(name);
    const label = `${name}${name === presets.defaultName ? ' (default)' : ''}: ${preset?.description ?? ''}`;
    return { name: label.length > 100 ? `${label.slice(0, 99)}…` : label, value: name };
  });
  const video = new SlashCommandBuilder()
    .setName('video')
    .setDescription('Generate a short video from a text prompt')
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .addStringOption((o) =>
      o
        .setName('prompt')
        .setDescription('What the video shows')
        .setRequired(true)
        .setMinLength(1)
        // Discord refuses longer input in the client already; the bot checks again after clean-up.
        .setMaxLength(Math.min(DISCORD_MAX_STRING_OPTION, config.PROMPT_MAX_CHARS)),
    )
    .addStringOption((o) => o.setName('preset').setDescription('Quality and speed').addChoices(...choices))
    .addIntegerOption((o) => o.setName('seed').setDescription('The same prompt and seed give the same video').setMinValue(0).setMaxValue(MAX_SEED));

  const gpu = new SlashCommandBuilder()
    .setName('gpu')
    .setDescription('GPU fleet (admins only)')
    // Hidden from members without Manage Server by default; the bot still checks its admin lists at run time,
    // because server owners can override this default for anyone.
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) => s.setName('status').setDescription('GPU workers, queue and Redis health'));

  return [video.toJSON(), gpu.toJSON()];
}
