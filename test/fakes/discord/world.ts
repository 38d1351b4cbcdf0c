/** The fake's in-memory Discord: bot, application, guild/channel/roles fixtures, interactions, commands; messages live in its MessageStore. */
import { randomBytes } from 'node:crypto';
import {
  ChannelType,
  PermissionFlagsBits,
  type APIApplicationCommand,
  type APIRole,
  type APITextChannel,
  type APIUser,
  type ChannelFlags,
  type RoleFlags,
  type UserFlags,
} from 'discord-api-types/v10';
import { Clock, Snowflakes } from './clock.ts';
import { MessageStore } from './messages.ts';
import { UserAttachments } from './user-attachments.ts';
import type { InteractionState } from './types.ts';

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  user: APIUser;
  channelId: string;
  guildId: string | null;
  createdAt: number;
  payload: Record<string, unknown>;
  responseType: number | null;
  ephemeral: boolean;
  tokenExpired: boolean;
  callbacks: { type: number; data: unknown; status: number }[];
  originalMessageId: string | null;
  /** For component interactions: the message holding the pressed component (the @original of types 6/7). */
  componentMessageId: string | null;
  followUpIds: string[];
}

const EVERYONE_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.UseApplicationCommands;

export class World {
  readonly clock = new Clock();
  readonly snowflakes = new Snowflakes(this.clock);
  readonly bot: APIUser;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly roles: APIRole[];
  readonly channels = new Map<string, APITextChannel>();
  readonly store = new MessageStore(this.clock, this.snowflakes, this.channels);
  /** Files users attached to slash commands, served from the loopback CDN route. */
  readonly userAttachments = new UserAttachments(this.clock, this.snowflakes);
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionIdByToken = new Map<string, string>();
  /** Keyed by 'global' or a guild id, as Discord scopes bulk overwrites. */
  readonly commands = new Map<string, APIApplicationCommand[]>();
  readonly createdAt = new Date().toISOString();

  constructor(
    botUsername: string,
    public attachmentSizeLimit: number,
  ) {
    this.bot = { id: this.snowflakes.next(), username: botUsername, discriminator: '0001', global_name: null, avatar: null, bot: true, public_flags: 0 as UserFlags };
    // Modern applications share their id with their bot user.
    this.applicationId = this.bot.id;
    this.guildId = this.snowflakes.next();
    this.channelId = this.snowflakes.next();
    const role = (id: string, name: string, position: number, permissions: bigint, managed = false): APIRole => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      position,
      permissions: permissions.toString(),
      managed,
      mentionable: false,
      flags: 0 as RoleFlags,
      ...(managed ? { tags: { bot_id: this.bot.id } } : {}),
    });
    // @everyone's id is the guild id, exactly as on Discord.
    this.roles = [
      role(this.guildId, '@everyone', 0, EVERYONE_PERMISSIONS),
      role(this.snowflakes.next(), 'Member', 1, 0n),
      role(this.snowflakes.next(), 'Moderator', 2, PermissionFlagsBits.ManageMessages | PermissionFlagsBits.ManageGuild),
      role(this.snowflakes.next(), botUsername, 3, PermissionFlagsBits.SendMessagesInThreads, true),
    ];
    this.channels.set(this.channelId, {
      id: this.channelId,
      type: ChannelType.GuildText,
      guild_id: this.guildId,
      name: 'general',
      position: 0,
      permission_overwrites: [],
      nsfw: false,
      parent_id: null,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0 as ChannelFlags,
    });
  }

  roleId(name: string): string {
    const found = this.roles.find((r) => r.name === name);
    if (!found) throw new Error(`fake guild has no role named ${name}`);
    return found.id;
  }

  /** Permissions of a member holding these roles: @everyone OR'd with each role; Administrator implies all. */
  permissionsFor(roleIds: string[]): string {
    let bits = 0n;
    for (const r of this.roles) if (r.id === this.guildId || roleIds.includes(r.id)) bits |= BigInt(r.permissions);
    if (bits & PermissionFlagsBits.Administrator) bits = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);
    return bits.toString();
  }

  botRoleIds(): string[] {
    return this.roles.filter((r) => r.managed).map((r) => r.id);
  }

  member(user: APIUser, roleIds: string[]): Record<string, unknown> {
    return {
      user,
      roles: roleIds,
      nick: null,
      avatar: null,
      banner: null,
      joined_at: this.createdAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
  }

  /** The GUILD_CREATE payload: everything discord.js caches for a guild (channels, roles, the bot's member). */
  guildCreatePayload(): Record<string, unknown> {
    return {
      id: this.guildId,
      name: 'Fake Guild',
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.snowflakes.next(),
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: this.roles,
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: this.channelId,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      joined_at: this.createdAt,
      large: false,
      unavailable: false,
      member_count: 2,
      voice_states: [],
      members: [this.member(this.bot, this.botRoleIds())],
      channels: [...this.channels.values()],
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  newInteractionToken(id: string): string {
    // Shaped like Discord's (base64url, no '/' or '?'), which matters because the token sits in URL paths.
    return Buffer.from(`interaction:${id}:${randomBytes(24).toString('hex')}`).toString('base64url');
  }

  interactionByToken(token: string): InteractionRecord | undefined {
    const id = this.interactionIdByToken.get(token);
    return id === undefined ? undefined : this.interactions.get(id);
  }

  snapshotInteraction(rec: InteractionRecord): InteractionState {
    const original = rec.originalMessageId ? this.store.get(rec.originalMessageId) : undefined;
    return structuredClone({
      id: rec.id,
      token: rec.token,
      type: rec.type,
      user: rec.user,
      channelId: rec.channelId,
      guildId: rec.guildId,
      createdAt: rec.createdAt,
      acknowledged: rec.responseType !== null,
      responseType: rec.responseType,
      deferred: rec.responseType === 5 || rec.responseType === 6,
      ephemeral: rec.ephemeral,
      tokenExpired: rec.tokenExpired,
      callbacks: rec.callbacks,
      original: original && !original.deleted ? original.message : null,
      originalDeleted: original?.deleted === true,
      originalHistory: original?.versions ?? [],
      followUps: rec.followUpIds.flatMap((id) => {
        const stored = this.store.get(id);
        return stored && !stored.deleted ? [stored.message] : [];
      }),
      payload: rec.payload,
    });
  }
}
