// The chat platforms this worker can post to, from configuration (the CLI's local-file delivery is always on).
import type { Env } from '../../config/env.ts';
import { resolve } from 'node:path';
import type { Delivery } from './delivery.ts';
import { DiscordDelivery } from './discord/discord-delivery.ts';
import { TelegramDelivery } from './telegram/telegram-delivery.ts';

export async function configuredDeliveries(config: Env): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  if (config.DISCORD_TOKEN) deliveries.push(new DiscordDelivery({ token: config.DISCORD_TOKEN, apiBase: config.DISCORD_API_BASE, workDir: resolve(config.WORK_DIR, 'discord') }));
  if (config.TELEGRAM_BOT_TOKEN) deliveries.push(TelegramDelivery.fromEnv(config));
  return deliveries;
}
