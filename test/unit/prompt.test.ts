import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserFacingError } from '../../src/core/errors.ts';
import { cleanPrompt, parseBlocklist, validatePrompt } from '../../src/core/prompt.ts';

const none = parseBlocklist('');

describe('prompt validation', () => {
  test('strips control, zero-width and bidi characters and folds whitespace', () => {
    assert.equal(cleanPrompt('  a\u0000 red\u200b\u202e fox\n\tin  snow \u0007'), 'a red fox in snow');
  });

  test('an empty or invisible-only prompt is refused as empty', () => {
    for (const raw of [undefined, '', '   ', '\u200b\u200d\u0000']) {
      assert.throws(() => validatePrompt(raw, 100, none), (e: unknown) => e instanceof UserFacingError && e.code === 'prompt_empty');
    }
  });

  test('a prompt over the limit is refused with its length and the limit', () => {
    const err = (() => {
      try {
        validatePrompt('x'.repeat(101), 100, none);
      } catch (e) {
        return e as UserFacingError;
      }
      return null;
    })();
    assert.equal(err?.code, 'prompt_too_long');
    assert.match(err?.message ?? '', /101 characters.*limit is 100/);
    assert.throws(() => validatePrompt('y'.repeat(100_000), 100, none), /too long/);
  });

  test('emoji and right-to-left text are kept and counted as characters', () => {
    assert.equal(validatePrompt('🦊 שועל אדום', 11, none), '🦊 שועל אדום');
  });

  test('blocklist matches whole words case-insensitively and /regex/ patterns', () => {
    const bl = parseBlocklist('gore, /n[a@]ked/');
    assert.throws(() => validatePrompt('Lots of GORE here', 100, bl), (e: unknown) => (e as UserFacingError).code === 'prompt_blocked');
    assert.throws(() => validatePrompt('a n@ked statue', 100, bl), /rephrase/);
    assert.equal(validatePrompt('a gorgeous sunset', 100, bl), 'a gorgeous sunset');
  });

  test('zero-width characters cannot hide a blocked word', () => {
    const bl = parseBlocklist('gore');
    assert.throws(() => validatePrompt('go\u200bre', 100, bl), /rephrase/);
  });
});
