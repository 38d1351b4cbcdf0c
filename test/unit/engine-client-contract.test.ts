// The engine client against an engine of another build: a message that breaks the contract stops it at once, with
// the field named, instead of a worker waiting out its start timeout; stray lines are only logged.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pino from 'pino';
import { loadPresets } from '../../config/presets.ts';
import { parseEnv } from '../../config/env.ts';
import { EngineClient } from '../../worker/engine-client/engine-client.ts';
import { EngineDeadError } from '../../worker/engine-client/engine-errors.ts';
import { engineSettings } from '../../worker/engine-client/engine-settings.ts';
import { REPO_ROOT, TINY_PRESETS } from '../helpers/test-config.ts';

const READY = { type: 'ready', device: 'cpu', gpu_name: null, dtype: 'float32', memory_profile: 'resident', presets: ['tiny'], warmup_seconds: {}, load_seconds: 0.1, compiled: false, tuning: { fused_qkv: false, fused_gelu: false, compiled: false, attention: 'default', attention_ms: {}, vae_decode: 'eager', notes: [] } };

/** A stand-in `cogcast_engine` package whose __main__ prints `lines`, then waits for stdin to close. */
function fakeEngine(lines: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-engine-'));
  mkdirSync(join(dir, 'cogcast_engine'));
  writeFileSync(join(dir, 'cogcast_engine', '__init__.py'), '');
  writeFileSync(
    join(dir, 'cogcast_engine', '__main__.py'),
    `import json, sys\nfor line in ${JSON.stringify(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))))}:\n    print(line, flush=True)\nsys.stdin.read()\n`,
  );
  return dir;
}

function client(engineDir: string): EngineClient {
  return new EngineClient({
    python: join(REPO_ROOT, '.venv/bin/python'),
    engineDir,
    settings: engineSettings(parseEnv({}), loadPresets(TINY_PRESETS), '/models/none', 'cogvideox-2b'),
    startTimeoutMs: 120_000,
    stepTimeoutMs: 120_000,
    log: pino({ level: 'silent' }),
  });
}

describe('engine client and the contract', () => {
  test('a ready with a field the contract lacks stops the engine at once, naming the field', async () => {
    const engine = client(fakeEngine([{ ...READY, flavour: 'newer' }]));
    try {
      await assert.rejects(engine.start(), (err: unknown) => err instanceof EngineDeadError && /broke the contract \(ready: .*flavour/.test(err.message));
    } finally {
      await engine.stop(1000);
    }
  });

  test('a stray line (a library printing) is ignored and the valid ready is taken', async () => {
    const engine = client(fakeEngine(['Loading checkpoint shards: 100%', READY]));
    try {
      const ready = await engine.start();
      assert.equal(ready.device, 'cpu');
      assert.equal(engine.report.tuning?.attention, 'default');
    } finally {
      await engine.stop(2000);
    }
  });
});
