import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadPresets } from '../../config/presets.ts';
import { UserFacingError } from '../../src/core/errors.ts';
import { chooseSeed, snapToPreset } from '../../src/core/snap-to-preset.ts';
import { REPO_ROOT, TINY_PRESETS } from '../helpers/test-config.ts';

function presetsFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'presets-')), 'presets.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const good = { description: 'd', width: 64, height: 32, frames: 9, fps: 8, steps: 2, guidance: 6 };

describe('locked presets', () => {
  test('the shipped presets hold standard (CogVideoX-2b native shape) and draft sharing its shape', () => {
    const book = loadPresets(join(REPO_ROOT, 'config/presets.json'));
    const standard = book.byName.get('standard');
    const draft = book.byName.get('draft');
    assert.deepEqual(
      [standard?.width, standard?.height, standard?.frames, standard?.fps, standard?.steps, standard?.guidance],
      [720, 480, 49, 8, 50, 6],
    );
    assert.deepEqual([draft?.width, draft?.height, draft?.frames], [720, 480, 49]);
    assert.ok((draft?.steps ?? 99) < 50);
    assert.equal(book.defaultName, 'standard');
  });

  test('a bad presets file names the field', () => {
    assert.throws(() => loadPresets(presetsFile({ default: 'a', presets: { a: { ...good, frames: 10 } } })), /presets\.a\.frames: must be 4k\+1/);
    assert.throws(() => loadPresets(presetsFile({ default: 'a', presets: { a: { ...good, width: 70 } } })), /presets\.a\.width/);
    assert.throws(() => loadPresets(presetsFile({ default: 'zzz', presets: { a: good } })), /default: default must name one of the presets/);
    assert.throws(() => loadPresets(presetsFile({ default: 'a', presets: { a: { ...good, extra: 1 } } })), /presets\.a/);
    assert.throws(() => loadPresets('/nonexistent/presets.json'), /presets file \/nonexistent/);
  });

  test('requests snap to a named preset, case-insensitively, or the default', () => {
    const book = loadPresets(TINY_PRESETS);
    assert.equal(snapToPreset(book).name, 'tiny');
    assert.equal(snapToPreset(book, ' TINY-slow ').name, 'tiny-slow');
  });

  test('an unknown preset is refused with the list of choices', () => {
    const book = loadPresets(TINY_PRESETS);
    assert.throws(
      () => snapToPreset(book, 'ultra'),
      (e: unknown) => e instanceof UserFacingError && e.code === 'unknown_preset' && /tiny, tiny-slow/.test(e.message),
    );
  });

  test('an unknown preset is repeated cleaned and cut short: no paste, control, bidi or zero-width character comes back', () => {
    const book = loadPresets(TINY_PRESETS);
    const refusal = (requested: string) => {
      try {
        snapToPreset(book, requested);
      } catch (e) {
        if (e instanceof UserFacingError) return e.message;
      }
      assert.fail(`${JSON.stringify(requested.slice(0, 40))} was not refused`);
    };
    assert.equal(refusal('ultra'), 'Unknown preset "ultra". Choose one of: tiny, tiny-slow.');
    assert.equal(refusal('p'.repeat(100_000)), `Unknown preset "${'p'.repeat(31)}…". Choose one of: tiny, tiny-slow.`);
    assert.equal(refusal('\u202eevil\u202c\u200b\u200d\u2060\ufeff na\u0000me\r\n\u001b[31m'), 'Unknown preset "evil name [31m". Choose one of: tiny, tiny-slow.');
    assert.equal(refusal(`${'\u200b'.repeat(100_000)}x`), 'Unknown preset "…". Choose one of: tiny, tiny-slow.');
    assert.equal(refusal('🦊'.repeat(40)), `Unknown preset "${'🦊'.repeat(31)}…". Choose one of: tiny, tiny-slow.`);
    for (const requested of ['p'.repeat(100_000), '\u202e'.repeat(50_000), `a\u202eb\u200bc${'\u0000'.repeat(1000)}`]) {
      const message = refusal(requested);
      assert.ok(message.length < 100, `${message.length} characters`);
      assert.doesNotMatch(message, /[\p{Cc}\p{Cf}\p{Cs}]/u);
    }
  });

  test('a seed is always chosen: the one asked for, or a random one in range', () => {
    assert.equal(chooseSeed(42), 42);
    assert.equal(chooseSeed('7'), 7);
    assert.equal(chooseSeed(undefined, () => 0.5), Math.floor(0.5 * (2 ** 32 - 1)));
    for (const bad of [-1, 1.5, 'abc', 2 ** 32]) assert.throws(() => chooseSeed(bad), /whole number/);
  });
});
