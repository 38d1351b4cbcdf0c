// The Telegram bot (telegraf): routes typed commands (in a text or a picture's caption) and inline buttons to the command registry, generically.
import type { Logger } from 'pino';
import { Telegraf } from 'telegraf';
import type { CallbackQuery, Message, User } from 'telegraf/types';
import type { Env } from '../../../config/env.ts';
import { decodeButton, decodeChoice } from '../../core/buttons.ts';
import type { ChatUser } from '../../core/chat-context.ts';
import { type Command, type CommandServices, dispatch, refusal } from '../../core/command.ts';
import { commandOptions } from '../../core/command-options.ts';
import { type CommandRegistry, commandRegistry } from '../../core/command-registry.ts';
import { UserFacingError } from '../../core/errors.ts';
import { LOCALES, resolveLocale } from '../../core/locale.ts';
import { logger } from '../../core/log.ts';
import { parseTypedArguments } from '../../core/typed-arguments.ts';
import type { RunningInbound } from '../platform.ts';
import { withBotApiRetry } from './bot-api-retry.ts';
import { notACommandText, telegramLanguageCode, telegramMenu } from './help-text.ts';
import { telegramAdminIds } from './telegram-admins.ts';
import { type TelegramPicture, pictureOf, telegramImageUpload } from './telegram-image.ts';
import { type ChatInfo, TelegramChatContext } from './telegram-chat-context.ts';
import { webhookOptions } from './webhook-options.ts';

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

export interface RunningTelegramBot extends RunningInbound {
  bot: Telegraf;
}

/**
 * `/word@bot payload` at the start of a message, as its bot_command entity marks it: in a text, or in the caption of
 * a photo or document (a picture sent with its command).
 */
function typedCommand(message: Message): { word: string; bot: string | null; payload: string } | null {
  const body = 'text' in message ? { text: message.text, entities: message.entities } : 'caption' in message && message.caption ? { text: message.caption, entities: message.caption_entities } : null;
  if (!body) return null;
  const entity = body.entities?.[0];
  if (entity?.type !== 'bot_command' || entity.offset !== 0) return null;
  const [word = '', bot] = body.text.slice(1, entity.length).split('@');
  return { word: word.toLowerCase(), bot: bot ?? null, payload: body.text.slice(entity.length).replace(/^\s+/, '') };
}

/** The picture a command comes with: the message's own (its caption is the command), else the one it replies to. */
function commandPicture(message: Message): TelegramPicture | null {
  return pictureOf(message) ?? ('reply_to_message' in message ? pictureOf(message.reply_to_message) : null);
}

export function createTelegramBot(config: Env, services: CommandServices, registry: CommandRegistry, log: Logger = logger('telegram')): Telegraf {
  const bot = new Telegraf(config.TELEGRAM_BOT_TOKEN, { telegram: { apiRoot: config.TELEGRAM_API_ROOT } });
  const admins = telegramAdminIds(config);
  const nudge: Command = { name: 'nudge', description: 'not a command', execute: (ctx) => ctx.reply({ kind: 'info', text: notACommandText(registry, ctx.locale) }) };

  const person = (from: User): ChatUser => {
    const id = String(from.id);
    const name = from.username ? `@${from.username}` : [from.first_name, from.last_name].filter(Boolean).join(' ');
    return { id, name, platform: 'telegram', isAdmin: admins.has(id) };
  };
  // Anonymous group admins, people posting as a channel and linked-channel forwards all come `from` one shared
  // service account; the chat they speak for (sender_chat, a negative id no person has) is who they are.
  const sender = (message: Message): ChatUser => {
    const chat = message.sender_chat;
    if (!chat) return person(message.from!);
    const name = 'title' in chat ? chat.title : String(chat.id);
    return { id: String(chat.id), name, platform: 'telegram', isAdmin: false };
  };
  const chatInfo = (chat: Message['chat']): ChatInfo => ({ id: chat.id, type: chat.type, ...(bot.botInfo?.username ? { botUsername: bot.botInfo.username } : {}) });

  bot.on('message', async (ctx) => {
    const message = ctx.message;
    const typed = typedCommand(message);
    // Addressed to another bot in the group: not ours to answer.
    if (typed?.bot && typed.bot.toLowerCase() !== bot.botInfo?.username?.toLowerCase()) return;
    const command = typed ? registry.byWord('telegram', typed.word) : undefined;
    const chat = TelegramChatContext.forCommand(ctx.telegram, sender(message), chatInfo(message.chat), message.message_id);
    chat.locale = resolveLocale(message.from?.language_code);
    if (!command || !typed) {
      // In groups the bot only sees what is addressed to it; chatter there gets no answer. In private, a nudge
      // (counted against the rate limit like every answer).
      if (message.chat.type === 'private') await dispatch(nudge, chat, {}, services);
      return;
    }
    const options = commandOptions(command, services);
    // A command that takes a picture gets the one sent with it; typed options never name one.
    const attachment = options.find((o) => o.type === 'attachment');
    const picture = attachment ? commandPicture(message) : null;
    const input = () => {
      const raw = parseTypedArguments(typed.payload, options);
      if (attachment && picture) raw[attachment.field] = telegramImageUpload(ctx.telegram, picture);
      return raw;
    };
    await dispatch(command, chat, undefined, services, { input });
  });

  bot.on('callback_query', async (ctx) => {
    const query: CallbackQuery = ctx.callbackQuery;
    const message = query.message;
    const data = 'data' in query ? query.data : undefined;
    // A choice (`settings:stats=short`) runs its command with that one option, as the presser; else a job button.
    const choice = data ? decodeChoice(data) : null;
    let press: ReturnType<typeof decodeButton> = null;
    let refused: UserFacingError | null = null;
    try {
      press = data && !choice ? decodeButton(data) : null;
    } catch (err) {
      if (!(err instanceof UserFacingError)) throw err;
      refused = err;
    }
    const command = refused ? refusal(refused) : press ? registry.forButton(press.action) : choice ? registry.forButton(choice.action) : undefined;
    if (!command || !message) {
      await ctx.answerCbQuery();
      return;
    }
    const replyTo = 'reply_to_message' in message ? message.reply_to_message?.message_id : undefined;
    const chat = TelegramChatContext.forButton(ctx.telegram, person(query.from), chatInfo(message.chat), {
      queryId: query.id,
      messageId: message.message_id,
      ...(replyTo !== undefined ? { replyToMessageId: replyTo } : {}),
      onStatusMessage: press ? await isStatusMessage(services, press.jobId, message.chat.id, message.message_id) : false,
    });
    chat.locale = resolveLocale(query.from.language_code);
    await dispatch(command, chat, press ? { jobId: press.jobId } : choice ? { [choice.field]: choice.value } : {}, services);
    await chat.finish();
  });

  bot.catch((err, ctx) => {
    log.error({ err: err instanceof Error ? err.stack : String(err), updateId: ctx.update.update_id }, 'telegram handler failed');
  });
  return bot;
}

/** True when the message is `jobId`'s own status message: a button may rewrite no other message. */
async function isStatusMessage(services: CommandServices, jobId: string, chatId: number, messageId: number): Promise<boolean> {
  try {
    const delivery = (await services.queue.getJob(jobId))?.data?.delivery;
    return delivery?.platform === 'telegram' && delivery.target.chatId === chatId && delivery.target.statusMessageId === messageId;
  } catch {
    return false; // Redis unreachable: the command itself will say so; rewrite nothing meanwhile
  }
}

/** Starts the bot: long polling, or a webhook server when TELEGRAM_WEBHOOK_URL is set. */
export async function startTelegramBot(config: Env, services: CommandServices): Promise<RunningTelegramBot> {
  const log = logger('telegram');
  const registry = await commandRegistry(config.COMMANDS_DIR);
  const bot = createTelegramBot(config, services, registry, log);
  bot.botInfo = await withBotApiRetry(() => bot.telegram.getMe());
  // The menu in every language: Telegram shows each user the one of their language_code, English to the rest.
  for (const locale of LOCALES) {
    const scope = locale === 'en' ? {} : { language_code: telegramLanguageCode(locale) };
    await bot.telegram.setMyCommands(telegramMenu(registry, locale), scope).catch((err: Error) => log.warn({ err: err.message, locale }, 'setMyCommands failed'));
  }

  if (config.TELEGRAM_WEBHOOK_URL) {
    const webhook = webhookOptions(config);
    await bot.launch({ allowedUpdates: [...ALLOWED_UPDATES], webhook });
    log.info({ bot: bot.botInfo.username, url: `https://${webhook.domain}${webhook.path}`, host: webhook.host, port: webhook.port }, 'telegram bot receiving updates by webhook');
    return { platform: 'telegram', bot, stop: async () => stopBot(bot) };
  }

  const polling = bot.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((err: Error) => {
    // 401 (bad token) or 409 (another instance polls the same token) end polling for good.
    log.error({ err: err.message }, 'telegram long polling stopped');
  });
  log.info({ bot: bot.botInfo.username }, 'telegram bot receiving updates by long polling');
  return {
    platform: 'telegram',
    bot,
    async stop() {
      stopBot(bot);
      await polling;
    },
  };
}

function stopBot(bot: Telegraf): void {
  try {
    bot.stop('shutdown');
  } catch {
    // Not running (polling already ended): nothing to stop.
  }
}
