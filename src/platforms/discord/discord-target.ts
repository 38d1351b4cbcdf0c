// Where a Discord job's progress and video go: the plain data the bot puts in the job and the worker parses back.
import { z } from 'zod';

/** Discord lets an interaction token edit its messages for 15 minutes. */
export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
/** Discord's upload limit for a bot without boosts; interactions carry the real one. */
export const DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024;

export const discordTargetSchema = z.object({
  applicationId: z.string().min(1),
  /** Short-lived credential for the interaction's webhook; never the bot token. */
  interactionToken: z.string().min(1),
  /** Epoch ms after which the token no longer works: the worker posts to the channel instead. */
  tokenExpiresAt: z.number().int().positive(),
  channelId: z.string().min(1),
  guildId: z.string().nullable(),
  attachmentSizeLimit: z.number().int().positive().default(DEFAULT_ATTACHMENT_SIZE_LIMIT),
});
export type DiscordTarget = z.infer<typeof discordTargetSchema>;
