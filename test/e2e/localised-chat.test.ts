// Localisation end to end: a zh-CN Telegram user and a ru Discord user, through the real telegraf / discord.js clients
// against the fake servers and a real worker (tiny engine), read every stage, the caption and an error in their language.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { createCommandServices } from '../../src/app-services.ts';
import { text } from '../../src/core/texts.ts';
import { type RunningDiscordBot, startDiscordBot } from '../../src/platforms/discord/discord-bot.ts';
import { DiscordDelivery } from '../../src/platforms/discord/discord-delivery.ts';
import { TelegramDelivery } from '../../src/platforms/telegram/telegram-delivery.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import type { UserInput } from '../fakes/telegram/fake-telegram-server.ts';
import { type StageHolds, stageHolds } from '../helpers/stage-holds.ts';
import { type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const LI: UserInput = { id: 2001, username: 'li', first_name: 'Li', language_code: 'zh-hans' };
const firstIndex = (texts: string[], pattern: RegExp) => texts.findIndex((t) => pattern.test(t));

describe('a zh-CN Telegram user', () => {
  let h: TelegramHarness;
  let worker: RunningWorker;
  let holds: StageHolds;

  before(async () => {
    h = await telegramHarness();
    const delivery = new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, editIntervalMs: 50, workDir: h.t.tmp, retryBudgetMs: 20_000 });
    // The engine runs behind the stage-holds gate, so a test can stop it at its first step (deterministically).
    holds = stageHolds(join(h.t.tmp, 'holds'));
    worker = await startVideoWorker({ ...h.t.config, ENGINE_PYTHON: holds.env.ENGINE_PYTHON! }, { deliveries: [delivery] });
    await h.startBot();
  });
  // A failed test must not leave the next one's job held at its first step.
  afterEach(() => holds?.releaseAll());
  after(async () => {
    holds?.releaseAll();
    await h.bot?.stop();
    await worker?.close();
    await h?.close();
  });

  test('the menu exists in Chinese and Russian besides English', () => {
    assert.equal(h.server.commands(undefined, 'zh')?.find((c) => c.command === 'gen')?.description, text('command.video', {}, 'zh-CN'));
    assert.equal(h.server.commands(undefined, 'ru')?.find((c) => c.command === 'gen')?.description, text('command.video', {}, 'ru'));
    assert.equal(h.server.commands()?.find((c) => c.command === 'gen')?.description, text('command.video'));
  });

  test('every stage, the caption and the buttons in Simplified Chinese', async () => {
    // Held in the queue until its queued state is shown, then let through; 12 steps, so the status shows one.
    // The queue is paused, not the worker: a worker already waiting for a job may still take it after pause().
    await h.services.queue.primary.queue.pause();
    const request = h.say(LI, '/gen 雪中的红狐狸 | preset=tiny-slow seed=5');
    const status = await h.answerTo(request);
    await h.waitForText(status, /^⏳ 已排队/).catch(async (err: Error) => {
      await h.services.queue.primary.queue.resume();
      throw err;
    });
    // The tiny engine's steps take a few ms and the decode after them is a stage of its own: the engine stops at
    // its first step (once the worker heard of it) until the status message shows it.
    holds.hold('generate');
    await h.services.queue.primary.queue.resume();
    await holds.reached('generate', 60_000);
    await h.waitForText(status, /^🎨 生成中/).finally(() => holds.release('generate'));
    const video = await h.server.waitForMessage((m) => m.file !== undefined && m.message.reply_to_message?.message_id === request.message_id, 60_000);
    await h.waitForText(status, /^✅ \d+(\.\d)? 秒完成：视频在下方。\ntiny-slow · 种子 5$/).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(h.shown(status))}`);
    });
    const shown = h.shown(status);
    const queued = firstIndex(shown, /^⏳ 已排队：第 1 位，约 \d+ 秒 后完成。\ntiny-slow · 种子 5$/);
    const generating = firstIndex(shown, /^🎨 生成中\n[▓░]{12} 第 \d+\/12 步\ntiny-slow · 种子 5$/);
    const encoding = firstIndex(shown, /^🎞 正在编码 MP4…/);
    assert.ok(queued >= 0 && generating > queued && encoding > generating, JSON.stringify(shown));
    assert.ok(!shown.some((s) => /Queued|Generating|Encoding|Done/.test(s)), `no English stage: ${JSON.stringify(shown)}`);

    const [prompt, shape, stages, decode, endToEnd] = (video.caption ?? '').split('\n');
    assert.equal(prompt, '雪中的红狐狸');
    assert.equal(shape, 'tiny-slow · 64x32 · 9 帧 @ 8 fps · 12 步 · 种子 5');
    assert.match(stages ?? '', /^排队 \d+\.\d+ 秒 · 文本 \d+\.\d+ 秒 · 去噪 \d+\.\d+ 秒（每步 \d+\.\d+ 秒）$/);
    assert.match(decode ?? '', /^VAE \d+\.\d+ 秒 · MP4 \d+\.\d+ 秒$/);
    assert.match(endToEnd ?? '', /^端到端 \d+\.\d+ 秒$/);
    assert.equal((video.replyMarkup as { inline_keyboard: { text: string }[][] }).inline_keyboard[0]?.[0]?.text, '🔁 重新生成');
  });

  test('a refused request is answered in Chinese', async () => {
    const answer = await h.answerTo(h.say(LI, '/gen 一只猫 | preset=nope'));
    assert.equal(answer.text, '未知的预设“nope”。可选：tiny, tiny-slow。');
    assert.match((await h.answerTo(h.say(LI, '/help'))).text ?? '', /一句话生成 AI 短视频。/);
  });
});

describe('a ru Discord user', () => {
  const TOKEN = 'fake-discord-bot-token';
  const ivan = { id: '310000000000000001', username: 'ivan' };
  let t: TestConfig;
  let server: FakeDiscordServer;
  let services: ReturnType<typeof createCommandServices>;
  let worker: RunningWorker;
  let bot: RunningDiscordBot;

  before(async () => {
    server = new FakeDiscordServer({ token: TOKEN });
    const { api } = await server.start();
    t = testConfig({ DISCORD_TOKEN: TOKEN, DISCORD_API_BASE: api, DISCORD_GUILD_ID: server.guildId, DISCORD_EDIT_PACE_MS: '100' });
    services = createCommandServices(t.config);
    const delivery = new DiscordDelivery({ token: TOKEN, apiBase: api, workDir: join(t.tmp, 'discord'), progressIntervalMs: 100 });
    worker = await startVideoWorker(t.config, { deliveries: [delivery] });
    bot = await startDiscordBot(t.config, services);
  });
  after(async () => {
    await bot?.stop();
    await worker?.close();
    await services?.close();
    await server?.stop();
    await t?.cleanup();
  });

  const video = (options: { name: string; value: string | number; type: number }[]) =>
    server.sendSlashCommand({ user: ivan, roles: [server.roleId('Member')], commandName: 'video', locale: 'ru', options });

  test('the stages, the stats embed and the Reroll button in Russian', async () => {
    // Held in the queue until its queued state is shown, then let through (the queue paused, not the worker).
    await services.queue.primary.queue.pause();
    const { id, token } = await video([
      { name: 'prompt', value: 'рыжая лиса в снегу', type: 3 },
      { name: 'seed', value: 9, type: 4 },
      { name: 'negative', value: '  туман,   размытость ', type: 3 },
    ]);
    await server
      .waitFor(() => server.interaction(id)?.originalHistory.some((m) => m.content.startsWith('В очереди')), 20_000)
      .finally(() => services.queue.primary.queue.resume());
    const final = await server.waitFor(() => {
      const original = server.interaction(token)?.original;
      return original && original.attachments.length > 0 ? original : undefined;
    }, 60_000);
    const history = server.interaction(id)!.originalHistory.map((m) => m.content);
    assert.ok(history.some((c) => /^В очереди: №\d+, будет готово примерно через \d+ с\.\ntiny · seed 9$/.test(c)), JSON.stringify(history));
    assert.ok(history.some((c) => /Запуск…|Генерация · шаг \d\/2|Декодирование кадров…|Кодирование MP4…|Загрузка…/.test(c)), JSON.stringify(history));
    assert.ok(!history.some((c) => /Queued|Generating|Encoding|Uploading/.test(c)), `no English stage: ${JSON.stringify(history)}`);
    assert.match(final.content, /^✅ Готово/);
    const job = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'completed', 'delayed', 'failed'])).find((j) => j.data.delivery.target.interactionToken === token);
    assert.equal(job?.data.negativePrompt, 'туман, размытость', 'negative: cleaned like the prompt');
    assert.equal(job?.data.locale, 'ru');
    const stats = final.embeds[0]?.description ?? '';
    assert.match(stats, /^tiny · 64x32 · 9 кадров @ 8 fps · 2 шагов · seed 9\n/);
    assert.match(stats, /шумоподавление \d+,\d+ с/, 'Russian decimal comma and unit');
    assert.match(stats, /\nвсего \d+,\d+ с/);
    const labels = (final.components as unknown as { components: { label?: string }[] }[]).flatMap((r) => r.components.map((c) => c.label));
    assert.deepEqual(labels, ['Ещё раз']);
  });

  test('a negative prompt over the limit is refused like a prompt, in Russian', async () => {
    const { id } = await video([
      { name: 'prompt', value: 'кот', type: 3 },
      { name: 'negative', value: 'x'.repeat(t.config.PROMPT_MAX_CHARS + 1), type: 3 },
    ]);
    const answer = await server.waitFor(() => server.interaction(id)?.callbacks[0], 10_000);
    assert.match((answer.data as { content?: string } | undefined)?.content ?? '', /^Запрос слишком длинный/);
  });

  test('a refused request is answered in Russian', async () => {
    const { id } = await video([
      { name: 'prompt', value: 'кот', type: 3 },
      { name: 'preset', value: 'nope', type: 3 },
    ]);
    const answer = await server.waitFor(() => server.interaction(id)?.callbacks[0], 10_000);
    assert.equal((answer.data as { content?: string } | undefined)?.content, 'Неизвестный пресет «nope». Выберите один из: tiny, tiny-slow.');
  });
});
