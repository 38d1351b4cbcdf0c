// ChatContext for Telegram: answers a command with one message (a job's status message, once it is queued, is
// written by the outbound side only), a button press with a toast, or privately.
import { type Telegram, TelegramError } from 'telegraf';
import type { ChatContext, ChatUser, DeliveryTarget, Reply, Span } from '../../core/chat-context.ts';
import { PlatformApiError } from '../../core/command-errors.ts';
import { renderUserMessage } from '../../core/errors.ts';
import { DEFAULT_LOCALE, text } from '../../core/texts.ts';
import { isNotModified, withBotApiRetry } from './bot-api-retry.ts';
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
    // A button press is answered with a toast (an alert for a refusal); the pressed message is never written
    // here: a status message's only writer is the outbound side, driven by the job's events.
    if (this.press && this.statusMessageId === undefined) {
      await this.answer(reply.text, reply.kind === 'error');
      return;
    }
    if (this.press) await this.answer(reply.text, false);
    // Accepted: the status message shows the queued event (with its Cancel button) from the job's writer.
    if (reply.kind === 'accepted' && this.statusMessageId !== undefined) return;
    const body = reply.rich ? richHtml(reply.rich) : htmlText(reply.text);
    const keyboard = inlineKeyboard(reply.buttons, reply.choices);
    if (this.statusMessageId !== undefined) await this.edit(this.statusMessageId, body, keyboard);
    else if (reply.confidential && this.chat.type !== 'private') await this.replyPrivately(body, keyboard);
    else this.statusMessageId = (await this.send(this.chat.id, body, keyboard)).message_id;
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
