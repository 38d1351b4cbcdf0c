// Menus in every language: Discord's registration carries name/description localizations, Telegram gets one menu per language.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadPresets } from '../../config/presets.ts';
import { commandRegistry } from '../../src/core/command-registry.ts';
import { typedHelp, spansToPlain } from '../../src/core/help.ts';
import { text } from '../../src/core/texts.ts';
import { discordCommandDefinitions } from '../../src/platforms/discord/command-definitions.ts';
import { telegramLanguageCode, telegramMenu } from '../../src/platforms/telegram/help-text.ts';
import { TINY_FLEET_PRESETS, testConfig } from '../helpers/test-config.ts';

describe('localised command menus', () => {
  const t = testConfig();
  const services = { env: t.config, presets: loadPresets(t.config.PRESETS_FILE) };

  test('Discord: every command and option description is localised to zh-CN and ru; /video has localised names', async () => {
    const definitions = discordCommandDefinitions(await commandRegistry(t.config.COMMANDS_DIR), services);
    const video = definitions.find((d) => d.name === 'video')!;
    assert.deepEqual(video.description_localizations, { 'zh-CN': text('command.video', {}, 'zh-CN'), ru: text('command.video', {}, 'ru') });
    assert.deepEqual(video.name_localizations, { 'zh-CN': '视频', ru: 'видео' });
    const negative = video.options?.find((o) => o.name === 'negative') as { required?: boolean; max_length?: number; description_localizations?: Record<string, string> } | undefined;
    assert.ok(negative, '/video has a negative option on Discord');
    assert.equal(negative.required ?? false, false);
    assert.equal(negative.max_length, t.config.PROMPT_MAX_CHARS, 'the prompt length limit');
    assert.equal(negative.description_localizations?.ru, 'Чего не должно быть в видео');
    const smooth = video.options?.find((o) => o.name === 'smooth');
    assert.equal(smooth?.type, 5, '/video smooth: is a Discord BOOLEAN option');
    assert.equal(smooth?.description_localizations?.['zh-CN'], text('command.video.smooth', {}, 'zh-CN'));
    const prompt = video.options?.find((o) => o.name === 'prompt');
    assert.equal(prompt?.description_localizations?.ru, 'Что показывает видео');
    const preset = video.options?.find((o) => o.name === 'preset') as { choices: { value: string; name: string; name_localizations?: Record<string, string> }[] };
    const defaultChoice = preset.choices.find((c) => c.name.includes('(default)'))!;
    assert.ok(defaultChoice.name_localizations?.['zh-CN']?.includes('（默认）'), JSON.stringify(defaultChoice));
    for (const definition of definitions) {
      assert.ok(definition.description_localizations?.ru, `${definition.name} has a Russian description`);
      for (const name of Object.values(definition.name_localizations ?? {})) assert.match(name ?? "", /^[-_\p{L}\p{N}]{1,32}$/u);
    }
  });

  test('Telegram: one menu per language, descriptions in that language', async () => {
    const registry = await commandRegistry(t.config.COMMANDS_DIR);
    const en = telegramMenu(registry, 'en');
    const ru = telegramMenu(registry, 'ru');
    assert.deepEqual(ru.map((c) => c.command), en.map((c) => c.command), 'the same words in every language');
    assert.equal(ru.find((c) => c.command === 'gen')?.description, text('command.video', {}, 'ru'));
    assert.equal(telegramMenu(registry, 'zh-CN').find((c) => c.command === 'gen')?.description, '根据文字提示生成一段短视频');
    assert.equal(telegramLanguageCode('zh-CN'), 'zh');
  });

  test('/help in Russian: titles, option descriptions and other commands translated', async () => {
    const registry = await commandRegistry(t.config.COMMANDS_DIR);
    const help = spansToPlain(typedHelp(registry, 'telegram', services, 'cogbot', 'ru'));
    assert.ok(help.includes(text('help.title', {}, 'ru')));
    assert.ok(help.includes(text('command.cancel', {}, 'ru')));
    assert.ok(!help.includes(text('help.title')), 'no English title left');
  });

  test('/help on Telegram tells how to send a photo when image presets exist, never `image=`', async () => {
    const registry = await commandRegistry(t.config.COMMANDS_DIR);
    const photo = text('help.photo', { command: '/gen', presets: 'tiny-animate' });
    const fleet = { ...services, presets: loadPresets(TINY_FLEET_PRESETS) };
    const help = spansToPlain(typedHelp(registry, 'telegram', fleet, 'cogbot'));
    assert.ok(help.includes(photo), help);
    assert.ok(!help.includes('image='), 'a picture is never typed');
    assert.ok(!spansToPlain(typedHelp(registry, 'telegram', services, 'cogbot')).includes(photo.slice(0, 20)), 'no image preset, no photo line');
  });
});
