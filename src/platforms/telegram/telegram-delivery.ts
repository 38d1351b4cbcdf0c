// Telegram's outbound side through the Bot API: the status message (edited, paced per chat across processes)
// and the clip (uploaded, or re-sent by file_id).
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { Telegram, TelegramError } from 'telegraf';
import type { ReplyParameters } from 'telegraf/types';
import { z } from 'zod';
import type { Env } from '../../../config/env.ts';
import { logger } from '../../core/log.ts';
import { countDeliveryRetry } from '../../ops/metrics.ts';
import { type JobStats, formatStats } from '../../core/stats.ts';
import { text } from '../../core/texts.ts';
import type { JobRequest } from '../../queue/job-contract.ts';
import type { JobStatus } from '../../queue/job-events.ts';
import { fitToUploadLimit } from '../fit-to-upload-limit.ts';
import type { DeliverableVideo, PlatformOutbound, StatusSlot, StatusSurface, StatusWriteOutcome } from '../platform.ts';
import { isNotModified, isTransient, retryAfterSeconds, withBotApiRetry } from './bot-api-retry.ts';
import { captionHtml, renderStatusHtml } from './status-text.ts';
import { PARSE_MODE, inlineKeyboard } from './telegram-markup.ts';

export interface TelegramDeliveryOptions {
  token: string;
  /** Bot API root (default https://api.telegram.org); a self-hosted server may post from anywhere. */
  apiRoot?: string;
  /** Clips above this are re-encoded to fit (default 50 MB, Telegram's limit for bots). */
  uploadLimitBytes?: number;
  /** Least time between two status edits in one chat, across every process (default 3 s). */
  editIntervalMs?: number;
  /** Longest deliver() keeps retrying 429/5xx before the job's own retry takes over (default 90 s). */
  retryBudgetMs?: number;
  /** Where re-encoded copies are written (default the OS temp dir). */
  workDir?: string;
  log?: Logger;
}

const targetSchema = z.object({
  chatId: z.number().int(),
  statusMessageId: z.number().int().positive(),
  replyToMessageId: z.number().int().positive().optional(),
});
type TelegramTarget = z.infer<typeof targetSchema>;

const receiptSchema = z.object({ fileId: z.string().min(1), kind: z.enum(['video', 'document']).default('video') });

const MB = 1024 * 1024;
export const BOT_API_UPLOAD_LIMIT_BYTES = 50 * MB;
/** A self-hosted telegram-bot-api server (--local) takes uploads up to 2000 MB. */
export const LOCAL_API_UPLOAD_LIMIT_BYTES = 2000 * MB;

/** TELEGRAM_UPLOAD_LIMIT_MB, or the limit of the API root in use. */
export function telegramUploadLimitBytes(config: Pick<Env, 'TELEGRAM_UPLOAD_LIMIT_MB' | 'TELEGRAM_API_ROOT'>): number {
  if (config.TELEGRAM_UPLOAD_LIMIT_MB !== null) return Math.floor(config.TELEGRAM_UPLOAD_LIMIT_MB * MB);
  return new URL(config.TELEGRAM_API_ROOT).hostname === 'api.telegram.org' ? BOT_API_UPLOAD_LIMIT_BYTES : LOCAL_API_UPLOAD_LIMIT_BYTES;
}

/** The status message of a Telegram job: one editMessageText per write. */
class TelegramStatusSurface implements StatusSurface {
  constructor(
    private readonly telegram: Telegram,
    readonly paceMs: number,
    private readonly log: Logger,
  ) {}

  paceKey(status: JobStatus): string | null {
    const target = targetSchema.safeParse(status.delivery.target);
    return target.success ? `telegram:chat:${target.data.chatId}` : null;
  }

  async write(status: JobStatus): Promise<StatusWriteOutcome> {
    const target = targetSchema.parse(status.delivery.target);
    const { html, keyboard } = renderStatusHtml(status);
    try {
      await this.telegram.editMessageText(target.chatId, target.statusMessageId, undefined, html, { parse_mode: PARSE_MODE, ...(keyboard ? { reply_markup: keyboard } : {}) });
      return { kind: 'shown' };
    } catch (err) {
      if (isNotModified(err)) return { kind: 'shown' };
      const after = retryAfterSeconds(err);
      if (after !== null) {
        this.log.info({ chatId: target.chatId, retryAfterS: after }, 'telegram flood control: every writer in this chat waits');
        return { kind: 'retry', holdOffMs: after * 1000 };
      }
      if (isTransient(err)) return { kind: 'retry' };
      // Deleted status message, bot removed from the chat...: nothing more can be shown there.
      this.log.warn({ chatId: target.chatId, jobId: status.jobId, err: (err as Error).message }, 'status edit refused');
      return { kind: 'gone' };
    }
  }
}

export class TelegramDelivery implements PlatformOutbound {
  readonly platform = 'telegram' as const;
  readonly telegram: Telegram;
  readonly status: StatusSurface;
  private readonly log: Logger;
  private readonly uploadLimit: number;
  private readonly retryBudgetMs: number;
  private readonly workDir: string;

  constructor(options: TelegramDeliveryOptions) {
    if (!options.token) throw new Error('TelegramDelivery: token is required (TELEGRAM_BOT_TOKEN)');
    this.telegram = new Telegram(options.token, { apiRoot: options.apiRoot ?? 'https://api.telegram.org' });
    this.log = options.log ?? logger('telegram-delivery');
    this.uploadLimit = options.uploadLimitBytes ?? BOT_API_UPLOAD_LIMIT_BYTES;
    this.retryBudgetMs = options.retryBudgetMs ?? 90_000;
    this.workDir = options.workDir ?? tmpdir();
    this.status = new TelegramStatusSurface(this.telegram, options.editIntervalMs ?? 3000, this.log);
  }

  static fromEnv(config: Env): TelegramDelivery {
    return new TelegramDelivery({
      token: config.TELEGRAM_BOT_TOKEN,
      apiRoot: config.TELEGRAM_API_ROOT,
      uploadLimitBytes: telegramUploadLimitBytes(config),
      editIntervalMs: config.TELEGRAM_EDIT_PACE_MS,
      workDir: config.WORK_DIR,
    });
  }

  uploadLimitBytes(): number {
    return this.uploadLimit;
  }

  /** Posts the clip as a reply to the request; the status message says "done" through the job's done event. */
  async deliver(job: JobRequest, jobId: string, video: DeliverableVideo, slot?: StatusSlot): Promise<Record<string, unknown>> {
    const target = targetSchema.parse(job.delivery.target);
    const statsText = formatStats(video.stats, job.locale, job.stats);
    // The Bot API cannot read a chat back: after an attempt that died while posting, say that this may be a repeat.
    const resentNote = video.earlierAttempt ? text('delivery.sent_again', {}, job.locale) : undefined;
    const previous = receiptSchema.safeParse(video.previousReceipt ?? {});
    const post = async (): Promise<Sent> =>
      (previous.success ? await this.resend(job, jobId, target, previous.data, statsText, resentNote) : null) ??
      (await this.upload(job, jobId, target, video, statsText, resentNote));
    // In the chat's pace slot: a 429 window that an edit of this chat met holds the upload too, as Telegram's does.
    const sent = slot ? await slot.exclusive(jobId, post) : await post();
    return { fileId: sent.fileId, messageId: sent.messageId, chatId: target.chatId, kind: sent.kind, ...(sent.note ? { note: sent.note } : {}) };
  }

  /** The caption again, now with the upload time (its notes kept), in the chat's pace slot. */
  async showUploadTime(job: JobRequest, jobId: string, receipt: Record<string, unknown>, stats: JobStats, slot?: StatusSlot): Promise<void> {
    const posted = receiptSchema.safeParse(receipt);
    if (!posted.success || typeof receipt.messageId !== 'number') return;
    const caption = captionHtml(job.prompt, formatStats(stats, job.locale, job.stats), typeof receipt.note === 'string' ? receipt.note : undefined);
    const reply_markup = inlineKeyboard([{ action: 'reroll', jobId, label: text('button.regenerate', {}, job.locale) }])!;
    const chatId = targetSchema.parse(job.delivery.target).chatId;
    const edit = () => this.telegram.editMessageCaption(chatId, receipt.messageId as number, undefined, caption, { parse_mode: PARSE_MODE, reply_markup });
    await (slot ? slot.exclusive(jobId, edit) : edit()).catch((err: unknown) => this.log.debug({ jobId, err: (err as Error).message }, 'caption left without the upload time'));
  }

  /** The same clip was posted before: send its file_id, no upload. A stale file_id falls back to uploading. */
  private async resend(job: JobRequest, jobId: string, target: TelegramTarget, previous: z.infer<typeof receiptSchema>, statsText: string, resentNote?: string): Promise<Sent | null> {
    try {
      return await this.send(job, jobId, target, { kind: previous.kind, file: previous.fileId, caption: captionHtml(job.prompt, statsText, resentNote) });
    } catch (err) {
      if (err instanceof UnrecoverableError && /file identifier|file_id|type of file/i.test(err.message)) {
        this.log.info({ jobId }, 'stored file_id no longer valid: uploading again');
        return null;
      }
      throw err;
    }
  }

  private async upload(job: JobRequest, jobId: string, target: TelegramTarget, video: DeliverableVideo, statsText: string, resentNote?: string): Promise<Sent> {
    const fitted = await fitToUploadLimit(video, this.uploadLimit, join(this.workDir, `telegram-${jobId}.mp4`), 'Telegram', job.locale);
    try {
      const file = () => ({ source: createReadStream(fitted.path), filename: `cogcast-${jobId.slice(0, 8)}.mp4` });
      const notes = (...more: (string | undefined)[]) => [resentNote, fitted.note, ...more].filter(Boolean).join(' ') || undefined;
      const caption = captionHtml(job.prompt, statsText, notes());
      await this.telegram.sendChatAction(target.chatId, 'upload_video').catch(() => undefined);
      try {
        return { ...(await this.send(job, jobId, target, { kind: 'video', file, caption, video })), ...(fitted.note ? { note: fitted.note } : {}) };
      } catch (err) {
        if (!(err instanceof RefusedVideoError)) throw err;
        // Telegram would not take it as a video (codec, size probing...): a plain file still gets it to the user.
        const note = text('delivery.sent_as_file', {}, job.locale);
        this.log.warn({ jobId, err: err.message }, 'sendVideo refused: sending as a document');
        const sent = await this.send(job, jobId, target, { kind: 'document', file, caption: captionHtml(job.prompt, statsText, notes(note)) });
        return { ...sent, note };
      }
    } finally {
      if (fitted.path !== video.path) await rm(fitted.path, { force: true });
    }
  }

  /** One post, retried on 429 (after retry_after) and 5xx/network errors; refusals become unrecoverable. */
  private async send(job: JobRequest, jobId: string, target: TelegramTarget, what: Outgoing): Promise<Sent> {
    const extra = {
      caption: what.caption,
      parse_mode: PARSE_MODE,
      reply_markup: inlineKeyboard([{ action: 'reroll', jobId, label: text('button.regenerate', {}, job.locale) }])!,
      ...(target.replyToMessageId ? { reply_parameters: replyParameters(target.replyToMessageId) } : {}),
    };
    try {
      return await withBotApiRetry(
        async () => {
          const file = typeof what.file === 'string' ? what.file : what.file();
          if (what.kind === 'document') {
            const m = await this.telegram.sendDocument(target.chatId, file, extra);
            return { kind: 'document', fileId: m.document.file_id, messageId: m.message_id };
          }
          const m = await this.telegram.sendVideo(target.chatId, file, {
            ...extra,
            supports_streaming: true,
            ...(what.video ? { width: what.video.width, height: what.video.height, duration: Math.max(1, Math.round(what.video.durationS)) } : {}),
          });
          return { kind: 'video', fileId: m.video.file_id, messageId: m.message_id };
        },
        {
          attempts: 6,
          maxWaitMs: this.retryBudgetMs,
          onRetry: (err, waitMs) => {
            countDeliveryRetry('telegram');
            this.log.info({ jobId, waitMs, err: (err as Error).message }, `send${what.kind === 'video' ? 'Video' : 'Document'} failed: retrying`);
          },
        },
      );
    } catch (err) {
      if (!(err instanceof TelegramError) || err.code >= 500 || err.code === 429) throw err; // transient: the job is retried
      if (err.code === 413) throw new UnrecoverableError(`the clip is too large for Telegram (${err.description})`);
      if (what.kind === 'video' && typeof what.file !== 'string' && err.code === 400 && !/chat|replied|caption|entities|markup|button/i.test(err.description)) {
        throw new RefusedVideoError(err.description);
      }
      // Bot blocked, chat gone, bad file_id: retrying the job cannot help.
      throw new UnrecoverableError(`Telegram refused the ${what.kind}: ${err.description}`);
    }
  }
}

interface Outgoing {
  kind: 'video' | 'document';
  /** A file_id (no upload) or a fresh stream per attempt. */
  file: string | (() => { source: NodeJS.ReadableStream; filename: string });
  caption: string;
  video?: Pick<DeliverableVideo, 'width' | 'height' | 'durationS'>;
}

interface Sent {
  kind: 'video' | 'document';
  fileId: string;
  messageId: number;
  note?: string;
}

class RefusedVideoError extends Error {
  override name = 'RefusedVideoError';
}

/**
 * telegraf 4.16 serialises only a few object fields (reply_markup...) in multipart uploads and silently drops
 * reply_parameters there; the Bot API takes every object field as a JSON string, so we send it as one.
 */
function replyParameters(messageId: number): ReplyParameters {
  return JSON.stringify({ message_id: messageId, allow_sending_without_reply: true }) as unknown as ReplyParameters;
}
