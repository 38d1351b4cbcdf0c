// Secrets never reach Redis: with bot tokens, the dashboard password and the webhook secret configured, real Discord
// and Telegram bots queue jobs and a real worker (deliveries wired from the same configuration) posts them; afterwards
// no job payload, result or any other key of the queue holds any of those secrets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { type RunningDiscordBot, startDiscordBot } from '../../src/platforms/discord/discord-bot.ts';
import type { JobRequest, JobResult } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { configuredOutbounds } from '../../src/platforms/configured-outbounds.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import { ALICE, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

const DISCORD_TOKEN = 'MTAxOTk2NzU2NTQ0MDk2MjU2Ng.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB';
const DASHBOARD_PASSWORD = 'correct-horse-battery-staple';
const WEBHOOK_SECRET = 'webhook-secret-0123456789';
const STRING = 3;

describe('secrets in Redis', () => {
  let h: TelegramHarness;
  let discord: FakeDiscordServer;
  let discordBot: RunningDiscordBot;
  let worker: RunningWorker;
  let events: OwnedQueueEvents;

  before(async () => {
    discord = new FakeDiscordServer({ token: DISCORD_TOKEN });
    const { api } = await discord.start();
    h = await telegramHarness({ DISCORD_TOKEN, DISCORD_API_BASE: api, DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD, TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET });
    worker = await startVideoWorker(h.t.config, { deliveries: configuredOutbounds(h.t.config) });
    events = new OwnedQueueEvents(h.t.config.QUEUE_NAME, h.t.config.REDIS_URL);
    await events.waitUntilReady();
    await h.startBot();
    discordBot = await startDiscordBot(h.t.config, h.services);
  });
  after(async () => {
    await discordBot?.stop();
    await h.bot?.stop();
    await events?.close();
    await worker?.close();
    await discord?.stop();
    await h.close();
  });

  /** Every value under the queue's keys (BullMQ's and ours), as text. */
  async function everythingInRedis(): Promise<{ key: string; text: string }[]> {
    const redis = h.services.redis;
    const out: { key: string; text: string }[] = [];
    for (const pattern of [`bull:${h.t.config.QUEUE_NAME}:*`, `cogcast:${h.t.config.QUEUE_NAME}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          const value =
            type === 'string' ? await redis.get(key)
            : type === 'hash' ? await redis.hgetall(key)
            : type === 'list' ? await redis.lrange(key, 0, -1)
            : type === 'set' ? await redis.smembers(key)
            : type === 'zset' ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
            : type === 'stream' ? await redis.xrange(key, '-', '+')
            : null;
          out.push({ key, text: `${key} ${JSON.stringify(value)}` });
        }
      } while (cursor !== '0');
    }
    return out;
  }

  test('job payloads, results and every other key of the queue hold no token, password or webhook secret', async () => {
    const telegramToken = h.server.token;
    const secrets = [DISCORD_TOKEN, ...DISCORD_TOKEN.split('.').slice(1), telegramToken, telegramToken.split(':')[1]!, DASHBOARD_PASSWORD, WEBHOOK_SECRET];

    h.say(ALICE, '/gen a fox in the snow | seed=11');
    const slash = await discord.sendSlashCommand({ user: { id: '310000000000000001', username: 'alice' }, commandName: 'video', options: [{ name: 'prompt', value: 'a cat on a roof', type: STRING }] });
    const jobs = async () => (await h.services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])) as Job<JobRequest, JobResult>[];
    let all: Job<JobRequest, JobResult>[] = [];
    for (let i = 0; i < 400 && all.length < 2; i++) {
      all = await jobs();
      if (all.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(all.map((j) => j.data.delivery.platform).sort(), ['discord', 'telegram'], 'one job from each bot');
    for (const job of all) await job.waitUntilFinished(events, 60_000);
    await discord.waitFor(() => discord.interaction(slash.id)?.original?.attachments.length, 10_000);

    // The job hash itself (HGETALL: data, opts, returnvalue...) of each job.
    for (const job of all) {
      const hash = await h.services.redis.hgetall(h.services.queue.primary.queue.toKey(job.id!));
      assert.ok(hash.data && hash.returnvalue, 'payload and result are there to check');
      const text = JSON.stringify(hash);
      for (const secret of secrets) assert.ok(!text.includes(secret), `job ${job.id} (${job.data.delivery.platform}) holds a secret`);
    }
    // The Discord job carries its interaction's own short-lived webhook token, never the bot token.
    const discordJob = all.find((j) => j.data.delivery.platform === 'discord')!;
    assert.equal(discordJob.data.delivery.target.interactionToken, slash.token);

    // Everything else: delivery markers, result cache, quotas, durations, events, heartbeats.
    const values = await everythingInRedis();
    assert.ok(values.length > 10, `${values.length} keys checked`);
    for (const { key, text } of values) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `${key} holds a secret`);
    }
  });
});
