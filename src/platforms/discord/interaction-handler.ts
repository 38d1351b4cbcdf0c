// Routes Discord interactions to the command registry: slash commands by name (and subcommand, attachments as uploads), buttons by action.
import type { Attachment, ButtonInteraction, ChatInputCommandInteraction, Interaction, MessageComponentInteraction, StringSelectMenuInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { decodeButton, decodeChoice, encodeChoice } from '../../core/buttons.ts';
import { type AnyCommand, type CommandServices, dispatch, refusal } from '../../core/command.ts';
import { commandOptions } from '../../core/command-options.ts';
import type { CommandRegistry } from '../../core/command-registry.ts';
import { UserFacingError } from '../../core/errors.ts';
import type { ImageUpload } from '../../core/image-upload.ts';
import { downloadImage } from '../../media/image-download.ts';
import { hasDiscordPriorityRole, isDiscordAdmin } from './discord-admins.ts';
import { discordOptionName } from './command-definitions.ts';
import { type Acknowledgement, InteractionChatContext } from './interaction-context.ts';

/** Handles one interaction; never throws (a failure to even acknowledge is logged). */
export async function handleInteraction(interaction: Interaction, registry: CommandRegistry, services: CommandServices, log: Logger): Promise<void> {
  try {
    if (interaction.isChatInputCommand()) await onSlashCommand(interaction, registry, services);
    else if (interaction.isButton()) await onButton(interaction, registry, services);
    else if (interaction.isStringSelectMenu()) await onChoice(interaction, registry, services);
  } catch (err) {
    log.warn({ err: (err as Error).message, interactionId: interaction.id, user: `discord:${interaction.user.id}` }, 'interaction failed');
  }
}

async function onSlashCommand(interaction: ChatInputCommandInteraction, registry: CommandRegistry, services: CommandServices): Promise<void> {
  const sub = interaction.options.getSubcommand(false);
  const command = registry.byWord('discord', sub ? `${interaction.commandName} ${sub}` : interaction.commandName);
  if (!command) return;
  await run(command, interaction, command.ack ?? 'public', slashInput(interaction, command, services), services);
}

async function onButton(interaction: ButtonInteraction, registry: CommandRegistry, services: CommandServices): Promise<void> {
  let press;
  try {
    press = decodeButton(interaction.customId);
  } catch (err) {
    // Shaped like ours but not a job id of ours: forged or stale. Said to the presser only, rate-limited like any answer.
    if (!(err instanceof UserFacingError)) throw err;
    await run(refusal(err), interaction, 'update', {}, services);
    return;
  }
  const command = press ? registry.forButton(press.action) : undefined;
  if (!press || !command?.button) return;
  await run(command, interaction, command.button.ack, { jobId: press.jobId }, services);
}

/** A select menu of choices (`settings:stats=`): its command runs with that one option set to the picked value. */
async function onChoice(interaction: StringSelectMenuInteraction, registry: CommandRegistry, services: CommandServices): Promise<void> {
  const choice = decodeChoice(interaction.customId);
  const value = interaction.values[0] ?? '';
  const command = choice ? registry.forButton(choice.action) : undefined;
  if (!choice || !command?.button) return;
  try {
    encodeChoice({ ...choice, value }); // a value no choice of ours could carry: forged
  } catch {
    await run(refusal(new UserFacingError('bad_job_id')), interaction, 'update', {}, services);
    return;
  }
  await run(command, interaction, command.button.ack, { [choice.field]: value }, services);
}

/** The command's options as Discord sent them, by input field; an attachment as an upload fetched later (after the ack). */
function slashInput(interaction: ChatInputCommandInteraction, command: AnyCommand, services: CommandServices): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const option of commandOptions(command, services)) {
    if (option.type === 'attachment') {
      const attachment = interaction.options.getAttachment(discordOptionName(option));
      if (attachment) input[option.field] = discordImageUpload(attachment);
      continue;
    }
    const value = interaction.options.get(discordOptionName(option))?.value;
    if (value !== undefined && value !== null) input[option.field] = value;
  }
  return input;
}

/** A picture the user attached: its declared size is checked first; the bytes come from Discord's CDN only when asked. */
function discordImageUpload(attachment: Attachment): ImageUpload {
  return { declaredBytes: attachment.size, fetch: (maxBytes) => downloadImage(attachment.url, maxBytes) };
}

async function run(
  command: AnyCommand,
  interaction: ChatInputCommandInteraction | MessageComponentInteraction,
  ack: Acknowledgement,
  input: Record<string, unknown>,
  services: CommandServices,
): Promise<void> {
  const member = interaction.member;
  // Cached guild members carry a role manager, uncached ones (APIInteractionGuildMember) a plain id list.
  const roles = !member ? [] : Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  const ctx = new InteractionChatContext(interaction, ack, isDiscordAdmin(services.env, interaction.user.id, roles, interaction.guildId), hasDiscordPriorityRole(services.env, roles, interaction.guildId));
  // Checks that need no I/O answer privately as the very first response, before a public "thinking…" exists;
  // errors found later (quota, queue full) replace the placeholder privately.
  await dispatch(command, ctx, input, services, { acknowledge: () => ctx.acknowledge() });
}
