// A real cogcast Telegram bot on real Redis, talking to the fake Bot API server: what a Telegram user would see.
import { createCommandServices } from '../../src/app-services.ts';
import { type RunningTelegramBot, startTelegramBot } from '../../src/platforms/telegram/telegram-bot.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import { FakeTelegramServer, type StoredMessage, type TgMessage, type UserInput } from '../fakes/telegram/fake-telegram-server.ts';
import { type TestConfig, testConfig } from './test-config.ts';

export const ALICE: UserInput = { id: 1001, username: 'alice', first_name: 'Alice' };
export const BOB: UserInput = { id: 1002, username: 'bob', first_name: 'Bob' };
/** Admin through TELEGRAM_ADMIN_IDS. */
export const ADMIN: UserInput = { id: 1003, username: 'root', first_name: 'Admin' };
/** Admin through an ADMIN_IDS `telegram:<id>` entry. */
export const OPS: UserInput = { id: 1004, username: 'ops', first_name: 'Ops' };
export const GROUP_ID = -100500600;

export interface TelegramHarness {
  server: FakeTelegramServer;
  t: TestConfig;
  services: ReturnType<typeof createCommandServices>;
  bot: RunningTelegramBot | null;
  startBot(): Promise<RunningTelegramBot>;
  /** A user writes `text` (in a private chat, or the group). */
  say(from: UserInput, text: string, inGroup?: boolean): TgMessage;
  /** The bot's first message quoting `request`. */
  answerTo(request: TgMessage, timeoutMs?: number): Promise<StoredMessage>;
  /** The texts a message showed, first to last (the sent text, then each edit). */
  shown(message: StoredMessage): string[];
  /** Waits until `message` shows a text matching `pattern`. */
  waitForText(message: StoredMessage, pattern: RegExp, timeoutMs?: number): Promise<void>;
  jobs(): Promise<JobRequest[]>;
  close(): Promise<void>;
}

export async function telegramHarness(overrides: Record<string, string> = {}): Promise<TelegramHarness> {
  const server = new FakeTelegramServer({ waitTimeoutMs: 20_000 });
  await server.start();
  const t = testConfig({
    TELEGRAM_BOT_TOKEN: server.token,
    TELEGRAM_API_ROOT: server.apiRoot,
    TELEGRAM_ADMIN_IDS: String(ADMIN.id),
    ADMIN_IDS: `discord:42,telegram:${OPS.id}`,
    RATE_LIMIT_PER_USER_PER_MINUTE: '1000',
    QUOTA_MAX_PENDING_PER_USER: '5',
    QUOTA_MAX_JOBS_PER_HOUR: '100',
    // The bot's status writer paces edits per chat together with the workers' (50 ms in these tests).
    TELEGRAM_EDIT_PACE_MS: '50',
    ...overrides,
  });
  const services = createCommandServices(t.config);
  const h: TelegramHarness = {
    server,
    t,
    services,
    bot: null,
    async startBot() {
      h.bot = await startTelegramBot(t.config, services);
      if (!t.config.TELEGRAM_WEBHOOK_URL) await server.waitForPolling();
      return h.bot;
    },
    say(from, text, inGroup = false) {
      return inGroup ? server.sendUserMessage({ from, text, chatType: 'supergroup', chatId: GROUP_ID, chatTitle: 'Video lab' }) : server.sendUserMessage({ from, text });
    },
    answerTo(request, timeoutMs) {
      return server.waitForMessage((m) => m.chatId === request.chat.id && m.message.reply_to_message?.message_id === request.message_id, timeoutMs);
    },
    shown(message) {
      const first = message.sentWith?.params.text;
      return [...(typeof first === 'string' ? [first] : []), ...message.edits.map((e) => e.text ?? '')];
    },
    async waitForText(message, pattern, timeoutMs) {
      await server.waitForEdit((m, e) => m.chatId === message.chatId && m.messageId === message.messageId && pattern.test(e.text ?? ''), timeoutMs);
    },
    async jobs() {
      const jobs = await services.queue.primary.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
      return jobs.map((j) => j.data);
    },
    async close() {
      await h.bot?.stop();
      await server.stop();
      await services.close();
      await t.cleanup();
    },
  };
  return h;
}
