// Worker-side Discord delivery over REST: status edits, the MP4 with its stats, failures; channel message once the token is gone.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DiscordAPIError, REST, type RawFile } from '@discordjs/rest';
import { UnrecoverableError } from 'bullmq';
import { type APIMessage, MessageFlags, type RESTPatchAPIWebhookWithTokenMessageJSONBody, Routes } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { type DiscordTarget, discordTargetSchema } from './discord-target.ts';
import { logger } from '../../core/log.ts';
import { text } from '../../core/texts.ts';
import type { JobProgress, JobRequest } from '../../queue/job-contract.ts';
import { isCancellable } from '../../queue/cancel-gate.ts';
import { shrinkMp4 } from '../../media/mp4-encoder.ts';
import { type DeliverableVideo, type Delivery, type DeliveryFailure } from '../delivery.ts';
import { failureTexts, progressText, resultMessage } from './discord-messages.ts';
import { EditThrottle } from './edit-throttle.ts';
import { type FindPosted, findPostedClip } from './discord-find-posted.ts';

export interface DiscordDeliveryOptions {
  /** The bot token: only for the channel-message fallback; interaction webhooks are authorised by their own token. */
  token: string;
  /** DISCORD_API_BASE, e.g. https://discord.com/api (the API version is appended). */
  apiBase: string;
  /** Where re-encoded copies for the upload limit are written, then removed. */
  workDir: string;
  /** Least time between two status edits of one message (default 2000 ms); the final state is always shown. */
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

export class DiscordDelivery implements Delivery {
  readonly platform = 'discord' as const;
  private readonly rest: REST;
  private readonly throttle: EditThrottle;
  private readonly deadTokens = new Set<string>();
  /** Status message ids seen in edit answers, so a channel fallback can tidy the stale status message. */
  private readonly statusMessageIds = new Map<string, string>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: DiscordDeliveryOptions) {
    // @discordjs/rest queues per route bucket and waits out 429s (Retry-After) itself; uploads get a long timeout.
    this.rest = new REST({ api: opts.apiBase, timeout: 120_000 }).setToken(opts.token);
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? logger('discord-delivery');
    this.throttle = new EditThrottle(opts.progressIntervalMs ?? 2000, (jobId, err) => this.log.debug({ jobId, err: (err as Error).message }, 'status edit failed'));
  }

  async progress(job: JobRequest, jobId: string, update: JobProgress & { position?: number }): Promise<void> {
    try {
      const target = parseTarget(job);
      // Past the token's life progress is dropped: a stream of channel messages would be noise.
      if (!this.tokenUsable(target)) return;
      this.throttle.push(jobId, async () => {
        // The token may have been found dead while this edit waited its turn.
        if (this.tokenUsable(target)) await this.editStatus(target, jobId, { content: progressText(update), ...(isCancellable(update.stage) ? {} : { components: [] }), allowed_mentions: { parse: [] } });
      });
    } catch (err) {
      this.log.warn({ jobId, err: (err as Error).message }, 'progress not shown');
    }
  }

  async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const target = parseTarget(job);
    await this.throttle.close(jobId);
    let shrunk: string | null = null;
    try {
      // Cancel no longer stops the job: take the button away before the upload (a throttled progress edit may have been dropped).
      if (!video.earlierAttempt && this.tokenUsable(target)) {
        await this.editStatus(target, jobId, { content: progressText({ stage: 'delivering' }), components: [], allowed_mentions: { parse: [] } }).catch((err: unknown) => {
          if (!isTokenGone(err)) throw err;
        });
      }
      const fitted = await this.fitToLimit(video, target.attachmentSizeLimit, jobId);
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
        try {
          const message = await this.editStatus(target, jobId, body, await files());
          this.statusMessageIds.delete(jobId);
          return { ...receipt, via: 'interaction', ...messageReceipt(message) };
        } catch (err) {
          if (!isTokenGone(err)) throw err;
          this.log.info({ jobId }, 'interaction token expired: posting the video as a channel message');
        }
      }
      const message = await this.postToChannel(target, job, { ...body, content: `<@${job.user.id}> your video is ready${shrunk ? ' (re-encoded to fit the upload limit)' : ''}${resent ? `\n${text('delivery.sent_again')}` : ''}` }, await files());
      await this.tidyStaleStatus(target, jobId);
      return { ...receipt, via: 'channel', ...messageReceipt(message) };
    } catch (err) {
      // The job will be retried: let the retry show its progress again.
      this.throttle.reopen(jobId);
      throw err;
    } finally {
      if (shrunk) await rm(shrunk, { force: true });
    }
  }

  async fail(job: JobRequest, jobId: string, failure: DeliveryFailure): Promise<void> {
    try {
      const target = parseTarget(job);
      await this.throttle.close(jobId);
      const { status, detail } = failureTexts(jobId, failure);
      if (this.tokenUsable(target)) {
        try {
          await this.editStatus(target, jobId, status);
          // The reason is for the requester alone (they can act on it); the channel sees a short line.
          this.statusMessageIds.delete(jobId);
          if (detail) await this.rest.post(Routes.webhook(target.applicationId, target.interactionToken), { body: { content: detail, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } }, auth: false });
          return;
        } catch (err) {
          if (!isTokenGone(err)) throw err;
        }
      }
      // A cancel was asked for by a person who already got an answer; anything else must reach the requester.
      if (detail) await this.postToChannel(target, job, { content: `<@${job.user.id}> ${detail}`, components: status.components ?? [] });
      await this.tidyStaleStatus(target, jobId, status);
    } catch (err) {
      this.log.warn({ jobId, err: (err as Error).message }, 'could not tell the user that the job failed');
    }
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

  private async postToChannel(target: DiscordTarget, job: JobRequest, body: Record<string, unknown>, files: RawFile[] = []): Promise<APIMessage> {
    return (await this.rest.post(Routes.channelMessages(target.channelId), {
      body: { ...body, allowed_mentions: { users: [job.user.id] } },
      files,
    })) as APIMessage;
  }

  /** After a channel fallback, the status message still says "Uploading…": point it at the result, if the bot may. */
  private async tidyStaleStatus(target: DiscordTarget, jobId: string, body: RESTPatchAPIWebhookWithTokenMessageJSONBody = { content: '✅ Done: the video is posted below.', components: [] }): Promise<void> {
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

  /** The clip itself when it fits the upload limit, else a re-encoded copy that does. */
  private async fitToLimit(video: DeliverableVideo, limit: number, jobId: string): Promise<{ path: string; bytes: number }> {
    if (video.bytes <= limit) return { path: video.path, bytes: video.bytes };
    await mkdir(this.opts.workDir, { recursive: true });
    const out = join(this.opts.workDir, `${jobId}-discord-${this.now()}.mp4`);
    // Bitrate targets are approximate: aim under the limit, and once more well under it if the first try overshoots.
    for (const share of [0.9, 0.6]) {
      const bytes = await shrinkMp4(video.path, out, video.durationS, Math.floor(limit * share));
      this.log.info({ jobId, from: video.bytes, to: bytes, limit }, 're-encoded the video to fit the upload limit');
      if (bytes <= limit) return { path: out, bytes };
    }
    await rm(out, { force: true });
    throw new UnrecoverableError(`the video is too large for Discord's upload limit (${limit} bytes) even after re-encoding`);
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
