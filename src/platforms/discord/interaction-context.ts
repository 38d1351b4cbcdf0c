// A ChatContext over one Discord interaction: the first answer before acknowledging is a direct reply; later ones
// edit the deferred reply until it becomes a job's status message, which only the outbound side writes.
import { MessageFlags, type ChatInputCommandInteraction, type MessageComponentInteraction } from 'discord.js';
import type { ChatContext, ChatUser, DeliveryTarget, Reply } from '../../core/chat-context.ts';
import type { Acknowledgement } from '../../core/command.ts';
import { resolveLocale } from '../../core/locale.ts';
import { buttonRows, choiceRows } from './buttons.ts';
import { DEFAULT_ATTACHMENT_SIZE_LIMIT, type DiscordTarget, INTERACTION_TOKEN_LIFETIME_MS } from './discord-target.ts';

export type { Acknowledgement };

const DISCORD_MAX_CONTENT = 2000;

export class InteractionChatContext implements ChatContext {
  readonly user: ChatUser;
  /** Discord's own `interaction.locale` (the user's client language); the dispatcher may replace it from /settings. */
  locale: string;
  /** Every answer given, oldest first. */
  readonly replies: Reply[] = [];
  private acknowledged = false;

  constructor(
    private readonly interaction: ChatInputCommandInteraction | MessageComponentInteraction,
    /**
     * How the interaction is acknowledged, which decides how answers are shown:
     * public: deferReply() - a "thinking…" message that becomes the job's status message;
     * private: deferReply ephemeral - only the user sees the answer;
     * update: deferUpdate() on a button - the pressed message stays; answers are follow-ups.
     */
    private readonly ack: Acknowledgement,
    isAdmin: boolean,
    isPriority = false,
  ) {
    this.locale = resolveLocale(interaction.locale);
    this.user = { id: interaction.user.id, name: interaction.user.globalName ?? interaction.user.username, platform: 'discord', isAdmin, ...(isPriority ? { isPriority } : {}) };
  }

  /** Discord wants an answer within 3 seconds: called once the checks that need no I/O passed. */
  async acknowledge(): Promise<void> {
    if (this.acknowledged) return;
    this.acknowledged = true;
    if (this.ack === 'update' && this.interaction.isMessageComponent()) await this.interaction.deferUpdate();
    else await this.interaction.deferReply(this.ack === 'public' ? {} : { flags: MessageFlags.Ephemeral });
  }

  async reply(reply: Reply): Promise<void> {
    const first = this.replies.length === 0;
    this.replies.push(reply);
    const text = reply.text.length > DISCORD_MAX_CONTENT ? `${reply.text.slice(0, DISCORD_MAX_CONTENT - 1)}…` : reply.text;
    // User text (prompts) may hold @everyone: never let an answer ping anyone.
    const message = { content: text, components: [...buttonRows(reply.buttons ?? []), ...choiceRows(reply.choices ?? [])], allowedMentions: { parse: [] } };
    if (!this.acknowledged) {
      // Refused before acknowledging (bad input, rate limit, not an admin): the one direct answer, private.
      this.acknowledged = true;
      const secret = reply.private || this.ack !== 'public';
      await this.interaction.reply({ ...message, ...(secret ? { flags: MessageFlags.Ephemeral as const } : {}) });
      return;
    }
    // Accepted: the deferred reply is now the job's status message, written by the outbound side only (the
    // queued event already showed this answer on it).
    if (this.ack === 'public' && reply.kind === 'accepted') return;
    if (this.ack === 'private' || (this.ack === 'public' && !reply.private)) {
      await this.interaction.editReply(message);
    } else {
      if (this.ack === 'public' && first) {
        // A public placeholder cannot turn ephemeral: remove it and answer privately. Were the delete to fail,
        // a follow-up would replace the placeholder publicly anyway, so edit it instead: seen beats lost.
        try {
          await this.interaction.deleteReply();
        } catch {
          await this.interaction.editReply(message);
          return;
        }
      }
      await this.interaction.followUp({ ...message, ...(reply.private ? { flags: MessageFlags.Ephemeral as const } : {}) });
    }
  }

  async deliveryTarget(): Promise<DeliveryTarget> {
    const i = this.interaction;
    if (!i.channelId) throw new Error('Discord interaction without a channel: nowhere to deliver');
    const target: DiscordTarget = {
      applicationId: i.applicationId,
      interactionToken: i.token,
      // The snowflake's time is Discord's creation time: the 15 minutes count from there, not from our receipt.
      tokenExpiresAt: i.createdTimestamp + INTERACTION_TOKEN_LIFETIME_MS,
      channelId: i.channelId,
      guildId: i.guildId,
      attachmentSizeLimit: i.attachmentSizeLimit || DEFAULT_ATTACHMENT_SIZE_LIMIT,
    };
    return { platform: 'discord', target: { ...target } };
  }

  sameChat(target: DeliveryTarget): boolean {
    return target.platform === 'discord' && target.target.channelId === this.interaction.channelId;
  }
}
