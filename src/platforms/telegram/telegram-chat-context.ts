// ChatContext for Telegram: answers a command with one message (a job's status message, once it is queued, is
// written by the outbound side only), or a button press with a toast.
import type { Telegram } from 'telegraf';
import type { ChatContext, ChatUser, DeliveryTarget, Reply } from '../../core/chat-context.ts';
import { text } from '../../core/texts.ts';
import { isNotModified, withBotApiRetry } from './bot-api-retry.ts';
import { type InlineKeyboard, PARSE_MODE, htmlText, inlineKeyboard, truncate } from './telegram-markup.ts';

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
}

export class TelegramChatContext implements ChatContext {
  private statusMessageId: number | undefined;
  private answered = false;

  private constructor(
    private readonly telegram: Telegram,
    readonly user: ChatUser,
    private readonly chatId: number,
    /** The user's command message; replies quote it. */
    private readonly commandMessageId: number | undefined,
    private readonly press: ButtonPress | undefined,
  ) {}

  static forCommand(telegram: Telegram, user: ChatUser, chatId: number, messageId: number): TelegramChatContext {
    return new TelegramChatContext(telegram, user, chatId, messageId, undefined);
  }

  static forButton(telegram: Telegram, user: ChatUser, chatId: number, press: ButtonPress): TelegramChatContext {
    return new TelegramChatContext(telegram, user, chatId, undefined, press);
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
    const text = htmlText(reply.text);
    const keyboard = inlineKeyboard(reply.buttons);
    if (this.statusMessageId !== undefined) await this.edit(this.statusMessageId, text, keyboard);
    else this.statusMessageId = (await this.send(text, keyboard)).message_id;
  }

  async deliveryTarget(): Promise<DeliveryTarget> {
    const replyToMessageId = this.press ? (this.press.replyToMessageId ?? this.press.messageId) : this.commandMessageId;
    this.statusMessageId ??= (await this.send(htmlText(`⏳ ${text('video.queuing')}`), undefined)).message_id;
    const target: TelegramTarget = {
      chatId: this.chatId,
      statusMessageId: this.statusMessageId,
      ...(replyToMessageId !== undefined ? { replyToMessageId } : {}),
    };
    return { platform: 'telegram', target: { ...target } };
  }

  /** A button press must always be answered, or the user's client shows a spinner. */
  async finish(): Promise<void> {
    if (this.press && !this.answered) await this.answer('', false);
  }

  private async send(html: string, keyboard: InlineKeyboard | undefined) {
    const replyTo = this.press ? (this.press.replyToMessageId ?? this.press.messageId) : this.commandMessageId;
    return withBotApiRetry(
      () =>
        this.telegram.sendMessage(this.chatId, html, {
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
        () => this.telegram.editMessageText(this.chatId, messageId, undefined, html, { parse_mode: PARSE_MODE, ...(keyboard ? { reply_markup: keyboard } : {}) }),
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
