// Routes Discord interactions to commands/: acknowledge within Discord's 3 seconds, then dispatch.
import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { Logger } from 'pino';
import { checkVideoInput, commands, type VideoInput } from '../../../commands/index.ts';
import { type CommandServices, dispatch } from '../../core/command.ts';
import { UserFacingError } from '../../core/errors.ts';
import { parseButtonCustomId } from './buttons.ts';
import { isDiscordAdmin } from './discord-admins.ts';
import { type Acknowledgement, InteractionChatContext } from './interaction-context.ts';

/** Handles one interaction; never throws (a failure to even acknowledge is logged). */
export async function handleInteraction(interaction: Interaction, services: CommandServices, log: Logger): Promise<void> {
  try {
    if (interaction.isChatInputCommand()) {
      if (interaction.commandName === 'video') await onVideo(interaction, services);
      else if (interaction.commandName === 'gpu' && interaction.options.getSubcommand(false) === 'status') await onGpuStatus(interaction, services);
    } else if (interaction.isButton()) {
      const button = parseButtonCustomId(interaction.customId);
      if (button?.action === 'cancel') await onCancel(interaction, button.jobId, services);
      else if (button?.action === 'reroll') await onReroll(interaction, button.jobId, services);
    }
  } catch (err) {
    log.warn({ err: (err as Error).message, interactionId: interaction.id, user: `discord:${interaction.user.id}` }, 'interaction failed');
  }
}

function contextFor(interaction: ChatInputCommandInteraction | ButtonInteraction, ack: Acknowledgement, services: CommandServices): InteractionChatContext {
  const member = interaction.member;
  // Cached guild members carry a role manager, uncached ones (APIInteractionGuildMember) a plain id list.
  const roles = !member ? [] : Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  return new InteractionChatContext(interaction, ack, isDiscordAdmin(services.env, interaction.user.id, roles));
}

async function onVideo(interaction: ChatInputCommandInteraction, services: CommandServices): Promise<void> {
  const prompt = interaction.options.getString('prompt');
  const preset = interaction.options.getString('preset');
  const seed = interaction.options.getInteger('seed');
  const input: VideoInput = { ...(prompt !== null && { prompt }), ...(preset !== null && { preset }), ...(seed !== null && { seed }) };
  // Bad input is known without any I/O: answer it privately as the very first response, before a public
  // "thinking…" message exists. Errors found later (quota, queue full) replace the placeholder privately.
  try {
    checkVideoInput(input, services);
  } catch (err) {
    if (!(err instanceof UserFacingError)) throw err;
    await interaction.reply({ content: err.message, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    return;
  }
  await interaction.deferReply();
  await dispatch(commands.video, contextFor(interaction, 'public', services), input, services);
}

async function onGpuStatus(interaction: ChatInputCommandInteraction, services: CommandServices): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  // default_member_permissions only hides the command; server owners can re-grant it, so admins are checked here.
  await dispatch(commands.gpuStatus, contextFor(interaction, 'private', services), {}, services);
}

async function onCancel(interaction: ButtonInteraction, jobId: string, services: CommandServices): Promise<void> {
  await interaction.deferUpdate();
  const ctx = contextFor(interaction, 'update', services);
  // The status message says cancelled through the job's cancelled event (its one writer), not from here.
  await dispatch(commands.cancel, ctx, { jobId }, services);
}

async function onReroll(interaction: ButtonInteraction, jobId: string, services: CommandServices): Promise<void> {
  // A new public message: the reroll's own status and video, leaving the original clip in place.
  await interaction.deferReply();
  await dispatch(commands.reroll, contextFor(interaction, 'public', services), { jobId }, services);
}
