// /settings through the real telegraf client against the fake Bot API on real Redis: remembered across a bot
// restart and used by the next /gen, explicit options win, reset forgets, bad values are refused and change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCommandServices } from '../../src/app-services.ts';
import { userSettingsStore } from '../../src/core/user-settings.ts';
import { startTelegramBot } from '../../src/platforms/telegram/telegram-bot.ts';
import type { UserInput } from '../fakes/telegram/fake-telegram-server.ts';
import { type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

const SAM: UserInput = { id: 3001, username: 'sam', first_name: 'Sam', language_code: 'en' };

describe('/settings', () => {
  let h: TelegramHarness;
  let restarted: ReturnType<typeof createCommandServices> | undefined;

  before(async () => {
    h = await telegramHarness();
    await h.startBot();
  });
  after(async () => {
    await h.close();
    await restarted?.close();
  });

  const newestJob = async () => (await h.jobs()).sort((a, b) => b.createdAt - a.createdAt)[0]!;

  test('stored, kept across a bot restart, and used by the next /gen; explicit options win', async () => {
    const saved = await h.answerTo(h.say(SAM, '/settings | preset=tiny-slow negative="blurry, text" language=ru stats=short'));
    assert.match(saved.text ?? '', /^Сохранено\. Ваши настройки:\nПресет: tiny-slow\nНегативный запрос: blurry, text\nЯзык: Русский\nСтатистика: краткая/);

    // A new bot process: its own services and Redis connection, the same Redis.
    await h.bot!.stop();
    restarted = createCommandServices(h.t.config);
    h.bot = await startTelegramBot(h.t.config, restarted);
    await h.server.waitForPolling();

    const status = await h.answerTo(h.say(SAM, '/gen a lighthouse at night'));
    await h.waitForText(status, /^⏳ В очереди: №\d+/);
    const job = await newestJob();
    assert.deepEqual([job.preset, job.negativePrompt, job.locale, job.stats], ['tiny-slow', 'blurry, text', 'ru', 'short']);

    const second = await h.answerTo(h.say(SAM, '/gen waves on rocks | preset=tiny negative="fog"'));
    await h.waitForText(second, /^⏳ В очереди: №\d+/);
    const explicit = await newestJob();
    assert.equal(explicit.prompt, 'waves on rocks');
    assert.deepEqual([explicit.preset, explicit.negativePrompt], ['tiny', 'fog'], 'explicit options beat stored ones');
    await h.answerTo(h.say(SAM, '/cancel'));
  });

  test('bad values are refused in the user language and nothing changes', async () => {
    const before = await userSettingsStore(h.services).get(`telegram:${SAM.id}`);
    for (const [typed, expected] of [
      ['/settings | language=klingon', /^Неизвестный язык «klingon»/],
      ['/settings | stats=verbose', /^Статистика показывается «full» или «short», а не «verbose»/],
      ['/settings | preset=nope language=en', /^Неизвестный пресет «nope»/],
      ['/settings | colour=red', /^Не понял «colour=red»/],
      ['/settings explode', /^Настройки «action» нет/],
    ] as const) {
      const answer = await h.answerTo(h.say(SAM, typed));
      assert.match(answer.text ?? '', expected, typed);
    }
    assert.deepEqual(await userSettingsStore(h.services).get(`telegram:${SAM.id}`), before, 'a refused change stores nothing, not even its good parts');
  });

  test('/settings reset forgets everything: the next /gen uses the bot defaults and the platform language', async () => {
    const reset = await h.answerTo(h.say(SAM, '/settings reset'));
    assert.equal(reset.text, 'Ваши настройки забыты: снова действуют значения бота по умолчанию.');
    assert.deepEqual(await userSettingsStore(h.services).get(`telegram:${SAM.id}`), {});
    const status = await h.answerTo(h.say(SAM, '/gen a paper boat'));
    await h.waitForText(status, /^⏳ Queued: #\d+/);
    const job = await newestJob();
    assert.deepEqual([job.preset, job.negativePrompt, job.locale, job.stats], ['tiny', '', 'en', undefined]);
    const shown = await h.answerTo(h.say(SAM, '/settings'));
    assert.match(shown.text ?? '', /^Your settings\nPreset: \(bot default\)/);
    await h.answerTo(h.say(SAM, '/cancel'));
  });

  test('the inline keyboard: a press sets that one value for the presser (a toast says so), the next /gen uses it', async () => {
    const shown = await h.answerTo(h.say(SAM, '/settings'));
    const keyboard = shown.replyMarkup?.inline_keyboard ?? [];
    assert.deepEqual(keyboard.map((row) => row.map((b) => b.callback_data)), [
      ['settings:preset=tiny', 'settings:preset=tiny-slow'],
      ['settings:language=en', 'settings:language=zh-CN', 'settings:language=ru'],
      ['settings:stats=full', 'settings:stats=short'],
    ]);
    const press = h.server.pressButton({ chatId: shown.chatId, messageId: shown.messageId, from: SAM, data: 'settings:stats=short' });
    await h.server.waitForCall('answerCallbackQuery', (c) => String(c.params.callback_query_id) === press.id);
    assert.match(h.server.callbackAnswer(press.id)?.text ?? '', /^Saved\. Your settings:/);
    assert.deepEqual(await userSettingsStore(h.services).get(`telegram:${SAM.id}`), { stats: 'short' });
    const again = await h.answerTo(h.say(SAM, '/settings'));
    assert.ok(again.replyMarkup?.inline_keyboard[2]?.some((b) => b.text === `✓ ${'short'}`), 'the value in force is marked');
    // A forged value is refused like a typed one, and changes nothing.
    const forged = h.server.pressButton({ chatId: shown.chatId, messageId: shown.messageId, from: SAM, data: 'settings:preset=ultra', force: true });
    await h.server.waitForCall('answerCallbackQuery', (c) => String(c.params.callback_query_id) === forged.id);
    assert.match(h.server.callbackAnswer(forged.id)?.text ?? '', /Unknown preset "ultra"/);
    assert.deepEqual(await userSettingsStore(h.services).get(`telegram:${SAM.id}`), { stats: 'short' });
    const status = await h.answerTo(h.say(SAM, '/gen a kite'));
    await h.waitForText(status, /^⏳ Queued: #\d+/);
    assert.equal((await newestJob()).stats, 'short');
    await h.answerTo(h.say(SAM, '/cancel'));
    await h.answerTo(h.say(SAM, '/settings reset'));
  });
});
