// Discord's outbound side over REST: the status message (the interaction's original response, paced per channel
// across processes), the MP4 with its stats on that same message; a channel message once the token is gone.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DiscordAPIError, REST, RESTEvents, type RawFile } from '@discordjs/rest';
import { UnrecoverableError } from 'bullmq';
import { type APIMessage, MessageFlags, type RESTPatchAPIWebhookWithTokenMessageJSONBody, Routes } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { type DiscordTarget, discordTargetSchema } from './discord-target.ts';
import { logger } from '../../core/log.ts';
import { countDeliveryRetry } from '../../ops/metrics.ts';
import type { JobStats } from '../../core/stats.ts';
import { text } from '../../core/texts.ts';
import type { JobRequest } from '../../queue/job-contract.ts';
import { type JobStatus, isTerminal } from '../../queue/job-events.ts';
import { fitToUploadLimit } from '../fit-to-upload-limit.ts';
import type { DeliverableVideo, PlatformOutbound, StatusSlot, StatusSurface, StatusWriteOutcome } from '../platform.ts';
import { failureDetail, renderStatusMessage, resultEmbeds, resultMessage } from './discord-messages.ts';
import { type FindPosted, findPostedClip } from './discord-find-posted.ts';

export interface DiscordDeliveryOptions {
  /** The bot token: only for the channel-message fallback; interaction webhooks are authorised by their own token. */
  token: string;
  /** DISCORD_API_BASE, e.g. https://discord.com/api (the API version is appended). */
  apiBase: string;
  /** Where re-encoded copies for the upload limit are written, then removed. */
  workDir: string;
  /** Least time between two status edits in one channel, across every process (default 2000 ms). */
  progressIntervalMs?: number;
  /** Clock for the token's 15-minute lifetime (tests move it). */
  now?: () => number;
  log?: Logger;
}

// A token this close to expiry is not used for an upload that may take a while: the channel is safer.
const TOKEN_SAFETY_MS = 60_000;
// Discord's answers meaning "this interaction's message can no longer be reached through its token".
const TOKEN_GONE_CODES = new Set([50027 /* invalid webhook token */, 10062 /* unknown interaction */, 10015 /* unknown webhook */, 10008 /* unknown message */]);
// Tokens seen dead, so later edits of the same job skip the doomed call. Bounded like the jobs that can still run.
const REMEMBER_DEAD_TOKENS = 1000;

export function isTokenGone(err: unknown): boolean {
  return err instanceof DiscordAPIError && typeof err.code === 'number' && TOKEN_GONE_CODES.has(err.code);
}

export class DiscordDelivery implements PlatformOutbound, StatusSurface {
  readonly platform = 'discord' as const;
  readonly status: StatusSurface = this;
  readonly paceMs: number;
  private readonly rest: REST;
  private readonly deadTokens = new Set<string>();
  /** Status message ids seen in edit answers, so a channel fallback can tidy the stale status message. */
  private readonly statusMessageIds = new Map<string, string>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: DiscordDeliveryOptions) {
    // @discordjs/rest queues per route bucket and waits out 429s (Retry-After) itself; uploads get a long timeout.
    this.rest = new REST({ api: opts.apiBase, timeout: 120_000 }).setToken(opts.token);
    // Each time @discordjs/rest holds a call back for a rate limit counts in cogcast_delivery_retries_total.
    this.rest.on(RESTEvents.RateLimited, () => countDeliveryRetry('discord'));
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? logger('discord-delivery');
    this.paceMs = opts.progressIntervalMs ?? 2000;
  }

  uploadLimitBytes(target: Record<string, unknown>): number {
    return discordTargetSchema.parse(target).attachmentSizeLimit;
  }

  paceKey(status: JobStatus): string | null {
    const target = discordTargetSchema.safeParse(status.delivery.target);
    return target.success ? `discord:channel:${target.data.channelId}` : null;
  }

  /** One write of the status message; called by the StatusWriter only. */
  async write(status: JobStatus): Promise<StatusWriteOutcome> {
    const body = renderStatusMessage(status);
    if (!body) return { kind: 'shown' };
    try {
      const target = discordTargetSchema.parse(status.delivery.target);
      if (isTerminal(status.event.stage)) await this.writeFinal(target, status, body);
      // Past the token's life progress is dropped: a stream of channel messages would be noise.
      else if (this.tokenUsable(target)) await this.editStatus(target, status.jobId, body);
      return { kind: 'shown' };
    } catch (err) {
      if (isTokenGone(err)) return { kind: 'shown' }; // progress past the token: the final state goes to the channel
      if (err instanceof DiscordAPIError && err.status < 500) {
        this.log.warn({ jobId: status.jobId, err: err.message }, 'status edit refused');
        return { kind: 'gone' };
      }
      this.log.debug({ jobId: status.jobId, err: (err as Error).message }, 'status edit failed: trying again');
      return { kind: 'retry' };
    }
  }

  /** Failed or cancelled: the public line on the status message, and the reason for the requester alone. */
  private async writeFinal(target: DiscordTarget, status: JobStatus, body: RESTPatchAPIWebhookWithTokenMessageJSONBody): Promise<void> {
    const detail = failureDetail(status);
    if (this.tokenUsable(target)) {
      try {
        await this.editStatus(target, status.jobId, body);
        this.statusMessageIds.delete(status.jobId);
        if (detail) await this.rest.post(Routes.webhook(target.applicationId, target.interactionToken), { body: { content: detail, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } }, auth: false });
        return;
      } catch (err) {
        if (!isTokenGone(err)) throw err;
      }
    }
    // A cancel was asked for by a person who already got an answer; anything else must reach the requester.
    if (detail) await this.postToChannel(target, status.userId, { content: `<@${status.userId}> ${detail}`, components: body.components ?? [] });
    await this.tidyStaleStatus(target, status.jobId, body);
  }

  /** Turns the status message into the video (through the status writer's slot), or posts it to the channel. */
  async deliver(job: JobRequest, jobId: string, video: DeliverableVideo, slot?: StatusSlot): Promise<Record<string, unknown>> {
    const target = parseTarget(job);
    let shrunk: string | null = null;
    try {
      const fitted = await fitToUploadLimit(video, target.attachmentSizeLimit, join(this.opts.workDir, `${jobId}-discord-${this.now()}.mp4`), 'Discord', job.locale);
      shrunk = fitted.path === video.path ? null : fitted.path;
      const fileName = `cogcast-${jobId}.mp4`;
      // An earlier attempt died while posting: read Discord back first, so the clip is posted exactly once.
      const earlier = video.earlierAttempt ? await this.earlierPost(target, jobId, fileName, video.earlierAttempt.claimedAt) : null;
      if (earlier?.kind === 'found') return { uploadedBytes: earlier.message.attachments[0]?.size ?? fitted.bytes, reencoded: shrunk !== null, via: earlier.via, foundPosted: true, ...messageReceipt(earlier.message) };
      const resent = earlier?.kind === 'unknown';
      const body = resultMessage(job, jobId, video.stats, fileName, shrunk !== null, resent);
      const files = async (): Promise<RawFile[]> => [{ name: fileName, data: await readFile(fitted.path), contentType: 'video/mp4' }];
      const receipt = { uploadedBytes: fitted.bytes, reencoded: shrunk !== null };
      if (this.tokenUsable(target)) {
        // The token is looked at again inside the slot: a status edit that held the slot may have just met it dead.
        const edit = async () => (this.tokenUsable(target) ? this.editStatus(target, jobId, body, await files()) : null);
        try {
          const message = slot ? await slot.exclusive(jobId, edit) : await edit();
          if (message) {
            this.statusMessageIds.delete(jobId);
            return { ...receipt, via: 'interaction', ...messageReceipt(message) };
          }
        } catch (err) {
          if (!isTokenGone(err)) throw err;
        }
        this.log.info({ jobId }, 'interaction token expired: posting the video as a channel message');
      }
      const ready = text(shrunk ? 'delivery.video_ready_reencoded' : 'delivery.video_ready', {}, job.locale);
      const message = await this.postToChannel(target, job.user.id, { ...body, content: `<@${job.user.id}> ${ready}${resent ? `\n${text('delivery.sent_again', {}, job.locale)}` : ''}` }, await files());
      await this.tidyStaleStatus(target, jobId, { content: `✅ ${text('status.done_posted_below', {}, job.locale)}`, components: [] });
      return { ...receipt, via: 'channel', ...messageReceipt(message) };
    } finally {
      if (shrunk) await rm(shrunk, { force: true });
    }
  }

  /** The stats embed again, now with the upload time, on the message that holds the clip (in the channel's slot). */
  async showUploadTime(job: JobRequest, jobId: string, receipt: Record<string, unknown>, stats: JobStats, slot?: StatusSlot): Promise<void> {
    const target = parseTarget(job);
    const messageId = typeof receipt.messageId === 'string' ? receipt.messageId : null;
    if (!messageId || job.stats === 'short') return; // the short stats have no upload time
    const body = { embeds: resultEmbeds(job, jobId, stats), allowed_mentions: { parse: [] } };
    const edit = async () => {
      if (receipt.via === 'interaction') {
        if (!this.tokenUsable(target)) return;
        await this.rest.patch(Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'), { body, auth: false });
      } else {
        await this.rest.patch(Routes.channelMessage(target.channelId, messageId), { body });
      }
    };
    await (slot ? slot.exclusive(jobId, edit) : edit()).catch((err: unknown) => {
      if (isTokenGone(err)) this.forgetToken(target.interactionToken);
      this.log.debug({ jobId, err: (err as Error).message }, 'embed left without the upload time');
    });
  }

  private async earlierPost(target: DiscordTarget, jobId: string, fileName: string, claimedAt: number): Promise<FindPosted> {
    const found = await findPostedClip(this.rest, target, fileName, claimedAt, this.tokenUsable(target));
    if (found.kind === 'found') this.log.info({ jobId, messageId: found.message.id, via: found.via }, 'the earlier attempt had posted the video: not posting again');
    else if (found.kind === 'unknown') this.log.warn({ jobId, reason: found.reason }, 'cannot tell whether the earlier attempt posted the video: posting it, marked as sent again');
    return found;
  }

  private tokenUsable(target: DiscordTarget): boolean {
    return !this.deadTokens.has(target.interactionToken) && this.now() < target.tokenExpiresAt - TOKEN_SAFETY_MS;
  }

  /** PATCHes the interaction's original response (the job's status message) through its webhook token. */
  private async editStatus(target: DiscordTarget, jobId: string, body: RESTPatchAPIWebhookWithTokenMessageJSONBody, files: RawFile[] = []): Promise<APIMessage> {
    try {
      const message = (await this.rest.patch(Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'), { body, files, auth: false })) as APIMessage;
      this.statusMessageIds.set(jobId, message.id);
      return message;
    } catch (err) {
      if (isTokenGone(err)) this.forgetToken(target.interactionToken);
      throw err;
    }
  }

  private async postToChannel(target: DiscordTarget, userId: string, body: Record<string, unknown>, files: RawFile[] = []): Promise<APIMessage> {
    return (await this.rest.post(Routes.channelMessages(target.channelId), {
      body: { ...body, allowed_mentions: { users: [userId] } },
      files,
    })) as APIMessage;
  }

  /** After a channel fallback, the status message still says "Uploading…": point it at the result, if the bot may. */
  private async tidyStaleStatus(target: DiscordTarget, jobId: string, body: RESTPatchAPIWebhookWithTokenMessageJSONBody = { content: `✅ ${text('status.done_posted_below')}`, components: [] }): Promise<void> {
    const messageId = this.statusMessageIds.get(jobId);
    this.statusMessageIds.delete(jobId);
    if (!messageId) return;
    await this.rest.patch(Routes.channelMessage(target.channelId, messageId), { body: { ...body, allowed_mentions: { parse: [] } } }).catch((err: unknown) => {
      this.log.debug({ jobId, err: (err as Error).message }, 'stale status message left as it was');
    });
  }

  private forgetToken(token: string): void {
    this.deadTokens.add(token);
    if (this.deadTokens.size > REMEMBER_DEAD_TOKENS) this.deadTokens.delete(this.deadTokens.values().next().value as string);
  }
}

function parseTarget(job: JobRequest): DiscordTarget {
  const parsed = discordTargetSchema.safeParse(job.delivery.target);
  if (!parsed.success) throw new UnrecoverableError(`invalid Discord delivery target: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

function messageReceipt(message: APIMessage): Record<string, unknown> {
  const attachment = message.attachments[0];
  return { messageId: message.id, channelId: message.channel_id, ...(attachment ? { attachmentId: attachment.id, attachmentUrl: attachment.url } : {}) };
}
