// Reads Discord back to learn whether an earlier attempt's upload of a clip landed: the interaction's original
// message first (its webhook token), then the channel's recent messages (bot token, Read Message History).
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { type APIMessage, Routes } from 'discord-api-types/v10';
import type { DiscordTarget } from './discord-target.ts';

export type FindPosted =
  | { kind: 'found'; message: APIMessage; via: 'interaction' | 'channel' }
  | { kind: 'not_found' }
  /** Discord would not let us look (no Read Message History, channel gone): a re-post cannot be ruled out. */
  | { kind: 'unknown'; reason: string };

const DISCORD_EPOCH = 1420070400000n;
// Clocks differ between hosts and Discord: look a little before the claim.
const CLOCK_SLACK_MS = 5 * 60_000;
const PAGE = 100;
const MAX_PAGES = 20;

/** The smallest snowflake of a message created at `ms`: Discord's `after` cursor for "since then". */
export function snowflakeAt(ms: number): string {
  return ((BigInt(Math.max(Number(DISCORD_EPOCH), Math.floor(ms))) - DISCORD_EPOCH) << 22n).toString();
}

const hasClip = (message: APIMessage, fileName: string) => message.attachments.some((a) => a.filename === fileName);

/**
 * Looks for a message carrying the attachment `fileName` posted since `sinceMs`. `tokenUsable` says whether the
 * interaction's webhook token may still be used. Errors other than "cannot see it" are thrown (the job retries).
 */
export async function findPostedClip(rest: REST, target: DiscordTarget, fileName: string, sinceMs: number, tokenUsable: boolean): Promise<FindPosted> {
  if (tokenUsable) {
    try {
      const original = (await rest.get(Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'), { auth: false })) as APIMessage;
      if (hasClip(original, fileName)) return { kind: 'found', message: original, via: 'interaction' };
    } catch (err) {
      if (!isNotVisible(err)) throw err;
    }
  }
  // The channel fallback (token expired) posts a new message: read the channel's messages since the claim.
  let after = snowflakeAt(sinceMs - CLOCK_SLACK_MS);
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const messages = (await rest.get(Routes.channelMessages(target.channelId), { query: new URLSearchParams({ after, limit: String(PAGE) }) })) as APIMessage[];
      const found = messages.find((m) => hasClip(m, fileName));
      if (found) return { kind: 'found', message: found, via: 'channel' };
      if (messages.length < PAGE) return { kind: 'not_found' };
      after = messages.reduce((max, m) => (BigInt(m.id) > BigInt(max) ? m.id : max), after);
    }
    return { kind: 'unknown', reason: `more than ${PAGE * MAX_PAGES} messages in the channel since the earlier attempt` };
  } catch (err) {
    if (isNotVisible(err)) return { kind: 'unknown', reason: (err as Error).message };
    throw err;
  }
}

/** 401/403/404 answers: the message or channel cannot be read with these credentials (gone, or not permitted). */
function isNotVisible(err: unknown): boolean {
  return err instanceof DiscordAPIError && [401, 403, 404].includes(err.status);
}
