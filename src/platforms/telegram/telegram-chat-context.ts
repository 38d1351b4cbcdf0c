// ChatContext for Telegram: answers a command with one status message (sent, then edited), a button press, or privately.
import { type Telegram, TelegramError } from 'telegraf';
import type { ChatContext, ChatUser, DeliveryTarget, Reply, Span } from '../../core/chat-context.ts';
import { PlatformApiError } from '../../core/command-errors.ts';
import { renderUserMessage } from '../../core/errors.ts';
import { DEFAULT_LOCALE, text } from '../../core/texts.ts';
import { isNotModified, withBotApiRetry } from './bot-api-retry.ts';
import { cancelledText } from './status-text.ts';
import { type InlineKeyboard, PARSE_MODE, escapeHtml, htmlText, inlineKeyboard, truncate } from './telegram-markup.ts';

/** The Bot API's own limit on a callback answer's text. */
const CALLBACK_ANSWER_MAX = 200;
// A bot handler must stay quick (telegraf's 90 s timeout, and the user is waiting): short flood waits only.
const RETRY = { attempts: 3, maxWaitMs: 5_000 };

/** What the worker's Telegram delivery needs: plain data, no token. */
export interface TelegramTarget {
  chatId: number;
  statusMessageId: number;
  replyToMessageId?: number;
}

export interface ButtonPress {
  queryId: string;
  /** The message that carries the button (a status message, or the video for Regenerate). */
  messageId: number;
  /** What that message replied to, if anything: the original request. */
  replyToMessageId?: number;
  /** The pressed message is the status message of the button's job: only then may an answer rewrite it. */
  onStatusMessage: boolean;
}

export interface ChatInfo {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  botUsername?: string;
}

/** The Bot API's answer as a typed error (no name sniffing): its error_code and description. */
export function telegramApiError(err: unknown): PlatformApiError | null {
  return err instanceof TelegramError ? new PlatformApiError('telegram', err.code, err.description, err) : null;
}

/** Rich lines as Telegram HTML: every piece of text escaped, emphasis as <b> and <code>. */
export function richHtml(lines: Span[][]): string {
  const span = (s: Span) => (typeof s === 'string' ? escapeHtml(s) : 'bold' in s ? `<b>${escapeHtml(s.bold)}</b>` : `<code>${escapeHtml(s.code)}</code>`);
  return lines.map((line) => line.map(span).join('')).join('\n');
}

export class TelegramChatContext implements ChatContext {
  private statusMessageId: number | undefined;
  private answered = false;
  readonly botUsername: string | undefined;
  /** The sender's `language_code`, as the bot set it; the dispatcher may replace it from /settings. */
  locale: string = DEFAULT_LOCALE;

  private constructor(
    private readonly telegram: Telegram,
    readonly user: ChatUser,
    private readonly chat: ChatInfo,
    /** The user's command message; replies quote it. */
    private readonly commandMessageId: number | undefined,
    private readonly press: ButtonPress | undefined,
  ) {
    this.botUsername = chat.botUsername;
  }

  static forCommand(telegram: Telegram, user: ChatUser, chat: ChatInfo, messageId: number): TelegramChatContext {
    return new TelegramChatContext(telegram, user, chat, messageId, undefined);
  }

  static forButton(telegram: Telegram, user: ChatUser, chat: ChatInfo, press: ButtonPress): TelegramChatContext {
    return new TelegramChatContext(telegram, user, chat, undefined, press);
  }

  async reply(reply: Reply): Promise<void> {
    // The same hourglass the worker's queued state shows, so the status reads as one story.
    const body = reply.rich ? richHtml(reply.rich) : htmlText(reply.kind === 'accepted' ? `⏳ ${reply.text}` : reply.text);
    const keyboard = inlineKeyboard(reply.buttons);
    // A refused button press is shown to the presser only, never written over someone's status message.
    if (this.press && reply.kind === 'error' && this.statusMessageId === undefined) {
      await this.answer(reply.text, true);
      return;
    }
    if (this.statusMessageId !== undefined) {
      await this.edit(this.statusMessageId, body, keyboard);
    } else if (this.press) {
      // Cancel pressed on its job's status message: that message becomes the answer. Pressed anywhere else (a
      // forged callback, or the video for a Regenerate), the presser gets a toast and no message is rewritten.
      if (this.press.onStatusMessage) {
        try {
          await this.edit(this.press.messageId, body, keyboard);
        } catch {
          // The message cannot be edited any more: the toast says it instead.
        }
      }
    } else if (reply.confidential && this.chat.type !== 'private') {
      await this.replyPrivately(body, keyboard);
    } else {
      this.statusMessageId = (await this.send(this.chat.id, body, keyboard)).message_id;
    }
    if (this.press) await this.answer(reply.text, false);
    await this.markRemoved(reply);
  }

  async deliveryTarget(): Promise<DeliveryTarget> {
    const replyToMessageId = this.press ? (this.press.replyToMessageId ?? this.press.messageId) : this.commandMessageId;
    this.statusMessageId ??= (await this.send(this.chat.id, htmlText(`⏳ ${text('video.queuing', {}, this.locale)}`), undefined)).message_id;
    const target: TelegramTarget = {
      chatId: this.chat.id,
      statusMessageId: this.statusMessageId,
      ...(replyToMessageId !== undefined ? { replyToMessageId } : {}),
    };
    return { platform: 'telegram', target: { ...target } };
  }

  sameChat(target: DeliveryTarget): boolean {
    return target.platform === 'telegram' && target.target.chatId === this.chat.id;
  }

  /** A button press must always be answered, or the user's client shows a spinner. */
  async finish(): Promise<void> {
    if (this.press && !this.answered) await this.answer('', false);
  }

  /**
   * A confidential answer asked for in a group (an admin's /gpu status): sent to their private chat with the
   * bot. When the bot cannot write there (never started, or an anonymous identity), the group only gets a pointer.
   */
  private async replyPrivately(html: string, keyboard: InlineKeyboard | undefined): Promise<void> {
    const userChat = Number(this.user.id);
    if (Number.isSafeInteger(userChat) && userChat > 0) {
      try {
        await this.send(userChat, html, keyboard, false);
        return;
      } catch (err) {
        if (!telegramApiError(err)?.cannotReachUser) throw err;
      }
    }
    const bot = this.chat.botUsername ? ` (@${this.chat.botUsername})` : '';
    await this.send(this.chat.id, htmlText(renderUserMessage('private_only', { bot }, this.locale)), undefined);
  }

  /** Waiting jobs this answer removed from the queue: no worker will mark their status messages, so it is done here. */
  private async markRemoved(reply: Reply): Promise<void> {
    for (const { delivery } of reply.removedJobs ?? []) {
      const target = delivery.target as Partial<TelegramTarget>;
      if (delivery.platform !== 'telegram' || typeof target.chatId !== 'number' || typeof target.statusMessageId !== 'number') continue;
      // The pressed status message already shows the answer.
      if (this.press?.onStatusMessage && target.chatId === this.chat.id && target.statusMessageId === this.press.messageId) continue;
      await this.telegram
        .editMessageText(target.chatId, target.statusMessageId, undefined, cancelledText(), { parse_mode: PARSE_MODE })
        .catch(() => undefined); // deleted meanwhile, or the bot left that chat: nothing to mark
    }
  }

  private async send(chatId: number, html: string, keyboard: InlineKeyboard | undefined, quote = true) {
    const replyTo = !quote ? undefined : this.press ? (this.press.replyToMessageId ?? this.press.messageId) : this.commandMessageId;
    return withBotApiRetry(
      () =>
        this.telegram.sendMessage(chatId, html, {
          parse_mode: PARSE_MODE,
          ...(replyTo !== undefined ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
          ...(keyboard ? { reply_markup: keyboard } : {}),
        }),
      RETRY,
    );
  }

  private async edit(messageId: number, html: string, keyboard: InlineKeyboard | undefined): Promise<void> {
    try {
      await withBotApiRetry(
        () => this.telegram.editMessageText(this.chat.id, messageId, undefined, html, { parse_mode: PARSE_MODE, ...(keyboard ? { reply_markup: keyboard } : {}) }),
        RETRY,
      );
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  }

  private async answer(text: string, alert: boolean): Promise<void> {
    if (!this.press || this.answered) return;
    this.answered = true;
    await this.telegram.answerCbQuery(this.press.queryId, text ? truncate(text, CALLBACK_ANSWER_MAX) : undefined, alert ? { show_alert: true } : {});
  }
}
