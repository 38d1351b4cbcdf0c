// The engine's settings document: built from the ENGINE_* variables, relative paths meaning the project's folders.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pino from 'pino';
import { parseEnv } from '../../config/env.ts';
import { loadPresets } from '../../config/presets.ts';
import { engineSettingsSchema } from '../../worker/engine-client/engine-protocol.ts';
import { PROJECT_ROOT, engineSettings } from '../../worker/engine-client/engine-settings.ts';
import { resolveEngineModel } from '../../worker/engine-client/model-resolution.ts';
import { REPO_ROOT, TINY_MODEL, TINY_PRESETS } from '../helpers/test-config.ts';
import { relative } from 'node:path';

describe('engine settings', () => {
  test('a relative ENGINE_MODEL means the project folder, whatever the working directory', async () => {
    assert.equal(PROJECT_ROOT, REPO_ROOT);
    const cwd = process.cwd();
    try {
      process.chdir('/tmp');
      const resolved = await resolveEngineModel({ requested: relative(REPO_ROOT, TINY_MODEL), device: 'cpu', python: '/nonexistent', presetsFileSet: true, root: PROJECT_ROOT, log: pino({ level: 'silent' }), probes: { hub: async () => 'offline' } });
      assert.equal(resolved.model, TINY_MODEL);
    } finally {
      process.chdir(cwd);
    }
  });

  test('one complete, valid document from the configuration, presets included', () => {
    const presets = loadPresets(TINY_PRESETS);
    const settings = engineSettings(parseEnv({ ENGINE_WARMUP: '0', ENGINE_CFG_PARALLEL: '1', ENGINE_COMPILE_CACHE_DIR: 'var/cc' }), presets, '/models/m', 'cogvideox-2b');
    assert.deepEqual(settings, {
      model: '/models/m',
      model_name: 'cogvideox-2b',
      pipeline: 'CogVideoXPipeline',
      native_dtype: 'float16',
      device: 'auto',
      dtype: 'auto',
      memory_profile: 'auto',
      compile: 'auto',
      compile_cache_dir: join(REPO_ROOT, 'var/cc'),
      warmup: false,
      log_level: 'WARNING',
      cfg_parallel: true,
      presets: presets.document,
    });
    assert.ok(engineSettingsSchema.safeParse(settings).success);
  });
});
