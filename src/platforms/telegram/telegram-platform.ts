// Telegram as a ChatPlatform: the telegraf bot inbound, the Bot API delivery outbound.
import type { ChatPlatform } from '../platform.ts';
import { TelegramDelivery } from './telegram-delivery.ts';

export const telegramPlatform: ChatPlatform = {
  name: 'telegram',
  configured: (config) => config.TELEGRAM_BOT_TOKEN !== '',
  outbound: (config) => TelegramDelivery.fromEnv(config),
  // Imported on start only: a worker builds the outbound and never loads the bot (or commands/).
  startInbound: async (config, services) => (await import('./telegram-bot.ts')).startTelegramBot(config, services),
};
