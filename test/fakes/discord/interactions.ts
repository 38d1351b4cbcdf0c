/** Builds INTERACTION_CREATE payloads the way Discord shapes them (slash commands, button presses) and registers their state. */
import { ComponentType, type APIAttachment, type APIMessage, type APIUser } from 'discord-api-types/v10';

/** ApplicationCommandOptionType.Attachment. */
const ATTACHMENT_OPTION = 11;
import type { ButtonPressInput, FakeUser, SelectInput, SlashCommandInput } from './types.ts';
import type { InteractionRecord, World } from './world.ts';

export function slashCommandInteraction(world: World, input: SlashCommandInput, appPermissions: string): InteractionRecord {
  const guildId = input.guildId === undefined ? world.guildId : input.guildId;
  // Reuse the registered command's id when there is one, as Discord would send it.
  const registered = [...(guildId ? (world.commands.get(guildId) ?? []) : []), ...(world.commands.get('global') ?? [])].find((c) => c.name === input.commandName && c.type === 1);
  let options: unknown[] = (input.options ?? []).map((o) => ({ ...o }));
  // An attachment option's value is the id of a file the user uploaded first; its object travels in data.resolved.
  const attachments: Record<string, APIAttachment> = {};
  for (const option of input.options ?? []) {
    if (option.type !== ATTACHMENT_OPTION) continue;
    const attachment = world.userAttachments.get(String(option.value));
    if (!attachment) throw new Error(`sendSlashCommand: option ${option.name} names no uploaded attachment (${String(option.value)}); use userAttachment() first`);
    attachments[attachment.id] = attachment;
  }
  if (input.subcommand) options = [{ type: 1, name: input.subcommand, options }];
  if (input.subcommandGroup) options = [{ type: 2, name: input.subcommandGroup, options }];
  const data = {
    id: registered?.id ?? world.snowflakes.next(),
    name: input.commandName,
    type: 1,
    options,
    ...(Object.keys(attachments).length > 0 ? { resolved: { attachments } } : {}),
    ...(registered?.guild_id ? { guild_id: registered.guild_id } : {}),
  };
  return newInteraction(world, appPermissions, 2, input.user, input.roles ?? [], guildId, input.channelId ?? world.channelId, { data, locale: input.locale });
}

/** A user can only press a button that is really there and enabled, so anything else is a test bug and throws. */
export function buttonInteraction(world: World, input: ButtonPressInput, appPermissions: string): InteractionRecord {
  const stored = world.store.get(input.messageId);
  if (!stored || stored.deleted) throw new Error(`pressButton: no message ${input.messageId}`);
  const button = findComponent(stored.message.components ?? [], input.customId);
  if (!button || button.type !== ComponentType.Button) throw new Error(`pressButton: message ${input.messageId} has no button ${input.customId}`);
  if (button.disabled === true) throw new Error(`pressButton: button ${input.customId} is disabled`);
  const channel = world.channels.get(stored.message.channel_id);
  return newInteraction(world, appPermissions, 3, input.user, input.roles ?? [], channel?.guild_id ?? null, stored.message.channel_id, {
    data: { custom_id: input.customId, component_type: ComponentType.Button },
    message: stored.message,
    componentMessageId: stored.message.id,
  });
}

/** A string select menu pick, as Discord sends it: only values among the menu's options, within min/max. */
export function selectInteraction(world: World, input: SelectInput, appPermissions: string): InteractionRecord {
  const stored = world.store.get(input.messageId);
  if (!stored || stored.deleted) throw new Error(`select: no message ${input.messageId}`);
  const menu = findComponent(stored.message.components ?? [], input.customId);
  if (!menu || menu.type !== ComponentType.StringSelect) throw new Error(`select: message ${input.messageId} has no select menu ${input.customId}`);
  const options = (menu.options as { value: string }[] | undefined) ?? [];
  const min = Number(menu.min_values ?? 1);
  const max = Number(menu.max_values ?? 1);
  if (input.values.length < min || input.values.length > max) throw new Error(`select: ${input.values.length} values, the menu takes ${min}..${max}`);
  for (const v of input.values) if (!options.some((o) => o.value === v)) throw new Error(`select: ${v} is not an option of ${input.customId}`);
  const channel = world.channels.get(stored.message.channel_id);
  return newInteraction(world, appPermissions, 3, input.user, input.roles ?? [], channel?.guild_id ?? null, stored.message.channel_id, {
    data: { custom_id: input.customId, component_type: ComponentType.StringSelect, values: [...input.values] },
    message: stored.message,
    componentMessageId: stored.message.id,
  });
}

function newInteraction(
  world: World,
  appPermissions: string,
  type: number,
  who: FakeUser,
  roles: string[],
  guildId: string | null,
  channelId: string,
  extra: { data: unknown; message?: APIMessage; componentMessageId?: string; locale?: string | undefined },
): InteractionRecord {
  const id = world.snowflakes.next();
  const token = world.newInteractionToken(id);
  const user: APIUser = { id: who.id, username: who.username, discriminator: '0', global_name: who.globalName ?? who.username, avatar: null };
  const channel = world.channels.get(channelId);
  const payload: Record<string, unknown> = {
    id,
    application_id: world.applicationId,
    type,
    token,
    version: 1,
    data: extra.data,
    channel_id: channelId,
    channel: guildId ? { ...channel, id: channelId } : { id: channelId, type: 1, flags: 0, last_message_id: null, recipients: [user] },
    app_permissions: appPermissions,
    locale: extra.locale ?? 'en-US',
    // discord.js reduces over entitlements unconditionally, so the empty array must be present.
    entitlements: [],
    authorizing_integration_owners: guildId ? { 0: guildId } : { 1: user.id },
    context: guildId ? 0 : 1,
    attachment_size_limit: world.attachmentSizeLimit,
    ...(extra.message ? { message: extra.message } : {}),
    // Guild interactions carry `member` (with computed permissions); DMs carry `user` instead.
    ...(guildId
      ? {
          guild_id: guildId,
          guild: { id: guildId, locale: 'en-US', features: [] },
          guild_locale: 'en-US',
          member: { ...world.member(user, roles), permissions: world.permissionsFor(roles) },
        }
      : { user }),
  };
  const rec: InteractionRecord = {
    id,
    token,
    type,
    user,
    channelId,
    guildId,
    createdAt: world.clock.now(),
    payload,
    responseType: null,
    ephemeral: false,
    tokenExpired: false,
    callbacks: [],
    originalMessageId: null,
    componentMessageId: extra.componentMessageId ?? null,
    followUpIds: [],
  };
  world.interactions.set(id, rec);
  world.interactionIdByToken.set(token, id);
  return rec;
}

function findComponent(components: unknown[], customId: string): Record<string, unknown> | undefined {
  for (const raw of components) {
    const c = raw as Record<string, unknown>;
    if (c.custom_id === customId) return c;
    // Buttons sit in action rows (and, with components v2, in sections and containers).
    const nested = [...(Array.isArray(c.components) ? c.components : []), ...(c.accessory ? [c.accessory] : [])];
    const found = findComponent(nested, customId);
    if (found) return found;
  }
  return undefined;
}
