// The text catalogue: one source for every user-visible text, parameters filled, markup only around escaped literals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { USER_MESSAGES, UserFacingError, renderUserMessage } from '../../src/core/errors.ts';
import { ERROR_TEXTS, TEXTS, markupText, text } from '../../src/core/texts.ts';

describe('text catalogue', () => {
  test('error messages are the catalogue entries of the same id', () => {
    assert.equal(USER_MESSAGES, ERROR_TEXTS);
    for (const id of Object.keys(ERROR_TEXTS) as (keyof typeof ERROR_TEXTS)[]) assert.equal(TEXTS[id], ERROR_TEXTS[id]);
    assert.equal(new UserFacingError('bad_seed', { max: 7 }).message, 'The seed must be a whole number from 0 to 7.');
    assert.equal(renderUserMessage('bad_seed', { max: 7 }), text('bad_seed', { max: 7 }));
  });

  test('parameters are filled; a missing one stays visible instead of vanishing', () => {
    assert.equal(text('cancel.done_many', { count: 3 }), 'Cancelled 3 videos.');
    assert.equal(text('cancel.done_many'), 'Cancelled {count} videos.');
  });

  test('an unknown locale falls back to English', () => {
    assert.equal(text('cancel.done_one', {}, 'xx'), 'Cancelled.');
  });

  test('markupText escapes the literal parts and inserts marked-up parameters as given', () => {
    const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    assert.equal(markupText('help.options_intro', escape, { options: '<b>Options</b>', bar: '<code>|</code>' }), '<b>Options</b> go after a <code>|</code>:');
  });
});
