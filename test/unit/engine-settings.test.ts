// The engine's settings document: built from the ENGINE_* variables, relative paths meaning the project's folders.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseEnv } from '../../config/env.ts';
import { loadPresets } from '../../config/presets.ts';
import { engineSettingsSchema } from '../../worker/engine-client/engine-protocol.ts';
import { PROJECT_ROOT, engineSettings, resolveModel } from '../../worker/engine-client/engine-settings.ts';
import { REPO_ROOT, TINY_PRESETS } from '../helpers/test-config.ts';

describe('engine settings', () => {
  test('the project root is the repository, whatever the working directory', () => {
    assert.equal(PROJECT_ROOT, REPO_ROOT);
    const cwd = process.cwd();
    try {
      process.chdir('/tmp');
      assert.equal(resolveModel('config'), join(REPO_ROOT, 'config'), 'a folder the project has');
      assert.equal(resolveModel('./models/cogvideox-2b'), join(REPO_ROOT, 'models/cogvideox-2b'), './ is always a folder');
      assert.equal(resolveModel('../models/x'), join(REPO_ROOT, '../models/x'));
    } finally {
      process.chdir(cwd);
    }
  });

  test('a hub id and an absolute path pass unchanged', () => {
    assert.equal(resolveModel('THUDM/CogVideoX-2b'), 'THUDM/CogVideoX-2b');
    assert.equal(resolveModel('/models/CogVideoX-2b'), '/models/CogVideoX-2b');
  });

  test('one complete, valid document from the configuration, presets included', () => {
    const presets = loadPresets(TINY_PRESETS);
    const settings = engineSettings(parseEnv({ ENGINE_MODEL: './m', ENGINE_WARMUP: '0', ENGINE_CFG_PARALLEL: '1', ENGINE_COMPILE_CACHE_DIR: 'var/cc' }), presets);
    assert.deepEqual(settings, {
      model: join(REPO_ROOT, 'm'),
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
