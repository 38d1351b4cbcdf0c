// Every text id exists in every language with the same placeholders; locale codes and Intl formatting per language.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LOCALES, formatDuration, formatSeconds, resolveLocale } from '../../src/core/locale.ts';
import { TEXTS, catalogue, catalogueLocales, text } from '../../src/core/texts.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogue languages', () => {
  test('English, Simplified Chinese and Russian are registered', () => {
    for (const locale of LOCALES) assert.ok(catalogueLocales().includes(locale), locale);
  });

  for (const locale of LOCALES) {
    test(`${locale}: every id exists, non-empty, with the same placeholders as English`, () => {
      const translated = catalogue(locale);
      for (const [id, english] of Object.entries(TEXTS)) {
        const value = translated[id as keyof typeof TEXTS];
        assert.equal(typeof value, 'string', `${locale} lacks ${id}`);
        assert.ok(value!.trim().length > 0 || english.trim().length === 0, `${locale} ${id} is empty`);
        assert.deepEqual(placeholders(value!), placeholders(english), `${locale} ${id} placeholders`);
      }
      assert.deepEqual(Object.keys(translated).sort(), Object.keys(TEXTS).sort(), `${locale} has ids English lacks`);
    });
  }

  test('the translations are translations: most texts differ from English', () => {
    for (const locale of ['zh-CN', 'ru'] as const) {
      const same = Object.entries(TEXTS).filter(([id, english]) => catalogue(locale)[id as keyof typeof TEXTS] === english);
      assert.ok(same.length < Object.keys(TEXTS).length / 4, `${locale}: ${same.length} texts left in English`);
    }
  });

  test('a text is rendered in the asked language, parameters filled', () => {
    assert.equal(text('cancel.done_many', { count: 3 }, 'ru'), 'Отменено видео: 3.');
    assert.equal(text('cancel.done_many', { count: 3 }, 'zh-CN'), '已取消 3 个视频。');
    assert.equal(text('cancel.done_many', { count: 3 }, 'de'), 'Cancelled 3 videos.');
  });
});

describe('locale codes', () => {
  test('Telegram and Discord codes map to our languages, English when unknown', () => {
    assert.equal(resolveLocale('ru'), 'ru');
    assert.equal(resolveLocale('ru-RU'), 'ru');
    assert.equal(resolveLocale('zh-hans'), 'zh-CN');
    assert.equal(resolveLocale('zh-CN'), 'zh-CN');
    assert.equal(resolveLocale('en-US'), 'en');
    assert.equal(resolveLocale('pt-BR'), 'en');
    assert.equal(resolveLocale(undefined), 'en');
    assert.equal(resolveLocale(''), 'en');
  });
});

describe('Intl formatting', () => {
  test('durations use the language decimal separator and unit', () => {
    assert.equal(formatSeconds(1.5, 'en'), '1.50 s');
    assert.equal(formatSeconds(1.5, 'ru'), '1,50 с');
    assert.equal(formatSeconds(12.25, 'zh-CN'), '12.3 秒');
    assert.equal(formatDuration(40, 'en'), '40 s');
    assert.equal(formatDuration(600, 'ru'), '10 мин');
    assert.equal(formatDuration(9000, 'ru'), '2,5 ч');
    assert.equal(formatDuration(9000, 'en'), '2.5 h');
  });
});
