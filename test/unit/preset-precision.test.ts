// The presets file's optional kernel precision: the shipped turbo preset, and the fidelity flag fp8 needs.
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

describe('preset precision', () => {
  test('the shipped turbo preset is fp8 at the standard shape and says it trades fidelity', () => {
    const book = loadPresets(join(REPO_ROOT, 'config/presets.json'));
    const turbo = book.byName.get('turbo');
    const standard = book.byName.get('standard');
    assert.equal(turbo?.precision, 'fp8');
    assert.equal(turbo?.tradesFidelity, true);
    assert.deepEqual([turbo?.width, turbo?.height, turbo?.frames, turbo?.steps], [standard?.width, standard?.height, standard?.frames, standard?.steps]);
    assert.equal(standard?.precision, undefined);
  });

  test('fp8 needs tradesFidelity; an unknown precision names the field', () => {
    assert.equal(load({ tradesFidelity: true, precision: 'fp8' })?.precision, 'fp8');
    assert.equal(load({ precision: 'full' })?.precision, 'full');
    assert.throws(() => load({ precision: 'fp8' }), /presets\.a\.tradesFidelity/);
    assert.throws(() => load({ tradesFidelity: true, precision: 'int4' }), /presets\.a\.precision/);
  });
});
