// Every chat platform cogcast speaks, each one small adapter object implementing ChatPlatform.
import type { ChatPlatform } from './platform.ts';
import { discordPlatform } from './discord/discord-platform.ts';
import { telegramPlatform } from './telegram/telegram-platform.ts';
import { webPlatform } from './web/web-platform.ts';

export const CHAT_PLATFORMS: readonly ChatPlatform[] = [discordPlatform, telegramPlatform, webPlatform];
