// The worker <-> engine contract has one source (zod, engine-protocol.ts): the committed JSON Schema the engine
// validates from must be current, and real documents must survive the trip through the Python side unchanged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadPresets, presetsFileSchema } from '../../config/presets.ts';
import { committedContractIsCurrent } from '../../worker/engine-client/engine-contract-schema.ts';
import { type EngineRequest, engineMessage, engineRequest, messageSchemas, requestSchemas } from '../../worker/engine-client/engine-protocol.ts';
import { engineSettings } from '../../worker/engine-client/engine-settings.ts';
import { parseEnv } from '../../config/env.ts';
import { REPO_ROOT, TINY_PRESETS } from '../helpers/test-config.ts';

const PYTHON = join(REPO_ROOT, '.venv/bin/python');
const ROUNDTRIP = join(REPO_ROOT, 'worker/engine/tests/contract_roundtrip.py');

const good = { description: 'd', width: 64, height: 32, frames: 9, fps: 8, steps: 2, guidance: 6 };
const withPreset = (preset: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ default: 'a', presets: { a: { ...good, ...preset } }, ...extra });
const PRESET_CASES: [string, unknown, { sameField: boolean }?][] = [
  ['a valid file', withPreset({})],
  ['a cached preset marked as trading fidelity', withPreset({ tradesFidelity: true, cache: { kind: 'taylorseer', interval: 4 } })],
  ['frames not 4k+1', withPreset({ frames: 10 })],
  ['frames 0', withPreset({ frames: 0 })],
  ['frames past the largest', withPreset({ frames: 165 })],
  ['a width not a multiple of 16', withPreset({ width: 70 })],
  ['a fractional step count', withPreset({ steps: 2.5 })],
  ['too many steps', withPreset({ steps: 201 })],
  ['fps out of range', withPreset({ fps: 61 })],
  ['guidance as text', withPreset({ guidance: '6' })],
  ['no description', { default: 'a', presets: { a: { ...good, description: undefined } } }],
  ['an unknown field', withPreset({ extra: 1 })],
  ['a cache without the fidelity flag', withPreset({ cache: { kind: 'taylorseer', interval: 4 } })],
  ['fp8 marked as trading fidelity', withPreset({ precision: 'fp8', tradesFidelity: true })],
  ['fp8 without the fidelity flag', withPreset({ precision: 'fp8' })],
  ['fp8 with the flag false', withPreset({ precision: 'fp8', tradesFidelity: false })],
  ['an unknown precision', withPreset({ precision: 'int4' })],
  ['a cache of an unknown kind', withPreset({ tradesFidelity: true, cache: { kind: 'teacache' } })],
  ['a threshold out of range', withPreset({ tradesFidelity: true, cache: { kind: 'first_block', threshold: 1.5 } })],
  ['a default naming no preset', withPreset({}, { default: 'zzz' })],
  // Two rules broken at once (no preset, and so the default names none): each side names the one it checks first.
  ['no presets', { default: 'a', presets: {} }, { sameField: false }],
  ['an upper-case preset name', { default: 'Big', presets: { Big: good } }],
  ['no default', { presets: { a: good } }],
];

const REQUESTS: EngineRequest[] = [
  { type: 'generate', job_id: '42', prompt: 'a red fox', negative_prompt: 'blur', preset: 'tiny', seed: 2 ** 32 - 1, output_dir: '/tmp/w/42' },
  { type: 'generate', job_id: '43', prompt: 'a cat wakes', negative_prompt: '', preset: 'tiny', seed: 0, output_dir: '/tmp/w/43', image: '/tmp/w/43/input.png' },
  { type: 'cancel', job_id: '42' },
  { type: 'stats' },
  { type: 'shutdown' },
];

interface PythonSide {
  messages: unknown[];
  requests: unknown[];
  settings: unknown;
  presets: { ok: boolean; error?: string }[];
}

function askPython(input: unknown): PythonSide {
  const run = spawnSync(PYTHON, [ROUNDTRIP], { input: JSON.stringify(input), encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `contract_roundtrip.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PythonSide;
}

/** `presets.a.frames` out of `presets.a.frames: must be ...` (both sides name the field first). */
const pathOf = (message: string) => message.split(': ')[0];

describe('engine contract', () => {
  const settings = engineSettings(parseEnv({ ENGINE_DEVICE: 'cpu', ENGINE_WARMUP: '0' }), loadPresets(TINY_PRESETS), '/models/tiny', 'cogvideox-2b');
  const python = askPython({ requests: REQUESTS, settings, presets: PRESET_CASES.map(([, document]) => document) });

  test('the committed contract.schema.json is what the zod schemas generate (regenerate: write-contract-schema.ts)', () => {
    assert.ok(committedContractIsCurrent(), 'stale: run `node --import tsx worker/engine-client/write-contract-schema.ts` and commit the file');
  });

  test('every message the engine builds parses here, strictly, and every type is covered', () => {
    const types = new Set<string>();
    for (const message of python.messages) {
      const parsed = engineMessage.safeParse(message);
      assert.ok(parsed.success, `${JSON.stringify(message)}: ${parsed.success ? '' : parsed.error.message}`);
      types.add(parsed.data.type);
      assert.deepEqual(parsed.data, message, 'nothing dropped or added in the parse');
    }
    assert.deepEqual([...types].sort(), Object.keys(messageSchemas).sort());
  });

  test('every request and the settings come back from the engine side unchanged', () => {
    assert.deepEqual(python.requests, REQUESTS);
    assert.deepEqual(Object.keys(requestSchemas).sort(), [...new Set(REQUESTS.map((r) => r.type))].sort());
    assert.deepEqual(python.settings, settings);
  });

  test('a field added on one side only fails the contract', () => {
    const cancelled = python.messages.find((m) => (m as { type: string }).type === 'cancelled');
    // The worker's schema grows a field the engine does not send ...
    assert.equal(messageSchemas.cancelled.extend({ reason: messageSchemas.error.shape.message }).safeParse(cancelled).success, false);
    // ... or the engine sends a field the worker's schema does not have.
    assert.equal(engineMessage.safeParse({ ...(cancelled as object), reason: 'x' }).success, false);
    assert.equal(engineRequest.safeParse({ type: 'stats', verbose: true }).success, false);
  });

  test('presets: both sides accept and refuse the same files, naming the same field', () => {
    PRESET_CASES.forEach(([what, document, options], i) => {
      const here = presetsFileSchema.safeParse(document);
      const there = python.presets[i]!;
      assert.equal(there.ok, here.success, `${what}: engine ${there.ok ? 'accepts' : `refuses (${there.error})`}, worker ${here.success ? 'accepts' : 'refuses'}`);
      if (!here.success && options?.sameField !== false) {
        const path = here.error.issues[0]!.path.join('.');
        assert.equal(pathOf(there.error!), path, `${what}: the engine says "${there.error}", the worker names ${path}`);
      }
    });
  });
});
