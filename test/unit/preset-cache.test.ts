// The presets file's optional step cache: accepted shapes, refusals naming the field, and the fidelity flag it needs.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadPresets } from '../../config/presets.ts';
import { REPO_ROOT } from '../helpers/test-config.ts';

const base = { description: 'd', width: 64, height: 32, frames: 9, fps: 8, steps: 2, guidance: 6 };

function load(preset: Record<string, unknown>) {
  const path = join(mkdtempSync(join(tmpdir(), 'presets-')), 'presets.json');
  writeFileSync(path, JSON.stringify({ default: 'a', presets: { a: { ...base, ...preset } } }));
  return loadPresets(path).byName.get('a');
}

describe('preset step cache', () => {
  test('the shipped fast preset caches steps, keeps the standard shape and says it trades fidelity', () => {
    const book = loadPresets(join(REPO_ROOT, 'config/presets.json'));
    const fast = book.byName.get('fast');
    const standard = book.byName.get('standard');
    assert.ok(fast?.cache, 'fast has a cache');
    assert.equal(fast?.tradesFidelity, true);
    assert.deepEqual([fast?.width, fast?.height, fast?.frames, fast?.steps], [standard?.width, standard?.height, standard?.frames, standard?.steps]);
    assert.equal(standard?.cache, undefined);
  });

  test('both cache kinds parse with their own field', () => {
    assert.deepEqual(load({ tradesFidelity: true, cache: { kind: 'first_block', threshold: 0.1 } })?.cache, { kind: 'first_block', threshold: 0.1 });
    assert.deepEqual(load({ tradesFidelity: true, cache: { kind: 'taylorseer', interval: 3 } })?.cache, { kind: 'taylorseer', interval: 3 });
  });

  test('bad caches are refused, naming the field', () => {
    assert.throws(() => load({ tradesFidelity: true, cache: { kind: 'first_block', threshold: 1.5 } }), /presets\.a\.cache\.threshold/);
    assert.throws(() => load({ tradesFidelity: true, cache: { kind: 'taylorseer', interval: 1 } }), /presets\.a\.cache\.interval/);
    assert.throws(() => load({ tradesFidelity: true, cache: { kind: 'taylorseer', threshold: 0.1 } }), /presets\.a\.cache/);
    assert.throws(() => load({ tradesFidelity: true, cache: { kind: 'teacache' } }), /presets\.a\.cache/);
  });

  test('a cached preset must be marked as trading fidelity', () => {
    assert.throws(() => load({ cache: { kind: 'taylorseer', interval: 3 } }), /presets\.a\.tradesFidelity/);
  });
});
