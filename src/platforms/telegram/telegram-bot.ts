// The Telegram bot (telegraf): routes /gen, /cancel, /gpu status, /start, /help and inline buttons to commands/.
import type { Logger } from 'pino';
import { type Context, Telegraf } from 'telegraf';
import type { Env } from '../../../config/env.ts';
import { commands } from '../../../commands/index.ts';
import type { ChatUser } from '../../core/chat-context.ts';
import { type Command, type CommandServices, dispatch } from '../../core/command.ts';
import { logger } from '../../core/log.ts';
import { parseJobRequest } from '../../queue/job-contract.ts';
import type { RunningInbound } from '../platform.ts';
import { withBotApiRetry } from './bot-api-retry.ts';
import { parseGenArguments } from './gen-arguments.ts';
import { BOT_COMMANDS, NOT_A_COMMAND, helpText } from './help-text.ts';
import { telegramAdminIds } from './telegram-admins.ts';
import { TelegramChatContext, type TelegramTarget } from './telegram-chat-context.ts';
import { PARSE_MODE, parseCallbackData } from './telegram-markup.ts';
import { webhookOptions } from './webhook-options.ts';

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/** /gen's text is parsed inside dispatch, so a bad option is answered like any other bad input. */
const gen: Command<{ payload: string }> = {
  name: 'gen',
  description: commands.video.description,
  execute: (ctx, { payload }, services) => commands.video.execute(ctx, parseGenArguments(payload), services),
};

export interface RunningTelegramBot extends RunningInbound {
  bot: Telegraf;
}

export function createTelegramBot(config: Env, services: CommandServices, log: Logger = logger('telegram')): Telegraf {
  const bot = new Telegraf(config.TELEGRAM_BOT_TOKEN, { telegram: { apiRoot: config.TELEGRAM_API_ROOT } });
  const admins = telegramAdminIds(config);

  const userOf = (ctx: Context): ChatUser => {
    const from = ctx.from!;
    const id = String(from.id);
    const name = from.username ? `@${from.username}` : [from.first_name, from.last_name].filter(Boolean).join(' ');
    return { id, name, platform: 'telegram', isAdmin: admins.has(id) };
  };
  const commandContext = (ctx: Context) => TelegramChatContext.forCommand(ctx.telegram, userOf(ctx), ctx.chat!.id, ctx.message!.message_id);

  const help = async (ctx: Context) => {
    await ctx.reply(helpText(services, ctx.botInfo?.username), { parse_mode: PARSE_MODE, reply_parameters: { message_id: ctx.message!.message_id, allow_sending_without_reply: true } });
  };
  bot.start(help);
  bot.help(help);

  bot.command('gen', async (ctx) => {
    await dispatch(gen, commandContext(ctx), { payload: ctx.payload }, services);
  });

  // Status messages follow the jobs' cancelled events (published by the cancel itself), never this handler.
  bot.command('cancel', async (ctx) => {
    await dispatch(commands.cancel, commandContext(ctx), {}, services);
  });

  // `/gpu status` (and plain /gpu): refused to non-admins by dispatch with a message that reveals nothing.
  bot.command('gpu', async (ctx) => {
    await dispatch(commands.gpuStatus, commandContext(ctx), {}, services);
  });

  bot.action(/^(?:cancel|reroll):[\w-]+$/, async (ctx) => {
    const button = parseCallbackData(ctx.match[0]);
    const message = ctx.callbackQuery.message;
    if (!button || !message) {
      await ctx.answerCbQuery();
      return;
    }
    const replyTo = 'reply_to_message' in message ? message.reply_to_message?.message_id : undefined;
    const chat = TelegramChatContext.forButton(ctx.telegram, userOf(ctx), message.chat.id, {
      queryId: ctx.callbackQuery.id,
      messageId: message.message_id,
      ...(replyTo !== undefined ? { replyToMessageId: replyTo } : {}),
    });
    if (button.action === 'cancel') await dispatch(commands.cancel, chat, { jobId: button.jobId }, services);
    else await dispatch(commands.reroll, chat, { jobId: button.jobId }, services);
    await chat.finish();
  });

  bot.on('message', async (ctx) => {
    // In groups the bot only sees what is addressed to it; chatter there gets no answer.
    if (ctx.chat.type === 'private') await ctx.reply(NOT_A_COMMAND, { reply_parameters: { message_id: ctx.message.message_id, allow_sending_without_reply: true } });
  });

  bot.catch((err, ctx) => {
    log.error({ err: err instanceof Error ? err.stack : String(err), updateId: ctx.update.update_id }, 'telegram handler failed');
  });
  return bot;
}

/** Starts the bot: long polling, or a webhook server when TELEGRAM_WEBHOOK_URL is set. */
export async function startTelegramBot(config: Env, services: CommandServices): Promise<RunningTelegramBot> {
  const log = logger('telegram');
  const bot = createTelegramBot(config, services, log);
  bot.botInfo = await withBotApiRetry(() => bot.telegram.getMe());
  await bot.telegram.setMyCommands(BOT_COMMANDS).catch((err: Error) => log.warn({ err: err.message }, 'setMyCommands failed'));

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
