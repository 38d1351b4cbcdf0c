// Edits jobs' Telegram status messages within the edit limits: one edit per chat per interval, 429 honoured.
// Progress is coalesced (only the latest state is sent); the final state always goes through.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Telegram } from 'telegraf';
import { isNotModified, isTransient, retryAfterSeconds } from './bot-api-retry.ts';
import { type InlineKeyboard, PARSE_MODE } from './telegram-markup.ts';

export interface StatusMessageRef {
  chatId: number;
  messageId: number;
}

export interface StatusContent {
  html: string;
  keyboard?: InlineKeyboard;
}

export interface StatusEditorOptions {
  /** Least time between two progress edits in one chat (Telegram allows about one per second per chat, fewer in groups). */
  intervalMs: number;
  /** Longest we keep trying to land a final state, flood waits included. */
  finalBudgetMs: number;
  log: Logger;
}

interface Line {
  jobId: string;
  ref: StatusMessageRef;
  wanted?: StatusContent;
  shown?: string;
  timer?: NodeJS.Timeout;
  flushing?: Promise<void>;
  /** The message cannot be edited any more (deleted, bot removed): stop trying. */
  gone?: boolean;
}

interface ChatPace {
  nextEditAt: number;
  floodUntil: number;
}

type EditOutcome = 'ok' | 'retry' | 'gone';

const contentKey = (c: StatusContent) => JSON.stringify([c.html, c.keyboard ?? null]);
// A finished job's late progress events are ignored for this long.
const FINISHED_MEMORY_MS = 3_600_000;

export class TelegramStatusEditor {
  private readonly lines = new Map<string, Line>();
  private readonly chats = new Map<number, ChatPace>();
  private readonly finished = new Map<string, number>();

  constructor(
    private readonly telegram: Telegram,
    private readonly options: StatusEditorOptions,
  ) {}

  /** Shows a progress state soon, coalescing bursts; returns at once and never throws. */
  show(jobId: string, ref: StatusMessageRef, content: StatusContent): void {
    if (this.finished.has(jobId)) return;
    let line = this.lines.get(jobId);
    if (!line) {
      line = { jobId, ref };
      this.lines.set(jobId, line);
    }
    line.wanted = content;
    this.schedule(line);
  }

  /** Lands the final state (done, failed, cancelled): ignores the interval, waits out flood control, never throws. */
  async finish(jobId: string, ref: StatusMessageRef, content: StatusContent): Promise<void> {
    this.finished.set(jobId, Date.now());
    this.forgetOld();
    const line = this.lines.get(jobId);
    this.lines.delete(jobId);
    if (line?.timer) clearTimeout(line.timer);
    await line?.flushing; // an edit in flight must not land after the final one
    if (line?.shown === contentKey(content)) return;
    const deadline = Date.now() + this.options.finalBudgetMs;
    for (let attempt = 1; attempt <= 8; attempt++) {
      const wait = this.pace(ref.chatId).floodUntil - Date.now();
      if (wait > 0) {
        if (Date.now() + wait > deadline) break;
        await sleep(wait);
      }
      if ((await this.edit(ref, content)) !== 'retry') return;
      if (Date.now() >= deadline) break;
      if (this.pace(ref.chatId).floodUntil <= Date.now()) await sleep(Math.min(250 * 2 ** attempt, 4000));
    }
    this.options.log.warn({ jobId, chatId: ref.chatId }, 'gave up on the final status edit');
  }

  private pace(chatId: number): ChatPace {
    let pace = this.chats.get(chatId);
    if (!pace) {
      pace = { nextEditAt: 0, floodUntil: 0 };
      this.chats.set(chatId, pace);
    }
    return pace;
  }

  private schedule(line: Line): void {
    if (line.timer || line.flushing || line.gone) return; // the pending flush sends the latest wanted state
    const pace = this.pace(line.ref.chatId);
    const delay = Math.max(0, pace.nextEditAt - Date.now(), pace.floodUntil - Date.now());
    line.timer = setTimeout(() => {
      line.timer = undefined;
      line.flushing = this.flush(line).finally(() => {
        line.flushing = undefined;
        // Progress arrived while the edit was in flight, or it was refused for now (429, 5xx): go again.
        const pending = line.wanted !== undefined && contentKey(line.wanted) !== line.shown;
        if (pending && this.lines.get(line.jobId) === line) this.schedule(line);
      });
    }, delay);
    line.timer.unref();
  }

  private async flush(line: Line): Promise<void> {
    const content = line.wanted;
    if (!content || contentKey(content) === line.shown) return;
    this.pace(line.ref.chatId).nextEditAt = Date.now() + this.options.intervalMs;
    const outcome = await this.edit(line.ref, content);
    if (outcome === 'ok') line.shown = contentKey(content);
    if (outcome === 'gone') line.gone = true;
  }

  /** One editMessageText; 'retry' means flood control (recorded in the chat's pace) or a transient failure. */
  private async edit(ref: StatusMessageRef, content: StatusContent): Promise<EditOutcome> {
    try {
      await this.telegram.editMessageText(ref.chatId, ref.messageId, undefined, content.html, {
        parse_mode: PARSE_MODE,
        ...(content.keyboard ? { reply_markup: content.keyboard } : {}),
      });
      return 'ok';
    } catch (err) {
      if (isNotModified(err)) return 'ok';
      const after = retryAfterSeconds(err);
      if (after !== null) {
        this.pace(ref.chatId).floodUntil = Date.now() + after * 1000;
        this.options.log.info({ chatId: ref.chatId, retryAfterS: after }, 'telegram flood control: waiting before the next edit');
        return 'retry';
      }
      if (isTransient(err)) return 'retry';
      // Deleted status message, bot removed from the chat...: nothing more can be shown there.
      this.options.log.warn({ chatId: ref.chatId, err: (err as Error).message }, 'status edit refused');
      return 'gone';
    }
  }

  private forgetOld(): void {
    const now = Date.now();
    for (const [jobId, at] of this.finished) if (at < now - FINISHED_MEMORY_MS) this.finished.delete(jobId);
    for (const [chatId, pace] of this.chats) if (pace.nextEditAt < now && pace.floodUntil < now) this.chats.delete(chatId);
  }
}
