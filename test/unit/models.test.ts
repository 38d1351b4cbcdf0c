// The model catalogue: which model a directory holds (from its own config files), the presets each worker serves,
// and the presets file naming every catalogue model at its native settings.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MODELS, MODEL_NAMES, identifyModel, modelQueueName } from '../../config/models.ts';
import { loadPresets, modelsOf, parsePresets, presetModel, presetsForModel } from '../../config/presets.ts';
import { heldModel } from '../../worker/engine-client/model-identity.ts';
import { REPO_ROOT, TINY_FLEET_PRESETS, TINY_PRESETS } from '../helpers/test-config.ts';

// The transformer configs of the real models (their config.json on the hub), as far as identification reads them.
const REAL = {
  'cogvideox-2b': { pipeline: 'CogVideoXPipeline', transformer: { num_layers: 30, num_attention_heads: 30, attention_head_dim: 64, patch_size_t: null } },
  'cogvideox-5b': { pipeline: 'CogVideoXPipeline', transformer: { num_layers: 42, num_attention_heads: 48, attention_head_dim: 64, patch_size_t: null } },
  'cogvideox-5b-i2v': { pipeline: 'CogVideoXImageToVideoPipeline', transformer: { num_layers: 42, num_attention_heads: 48, attention_head_dim: 64 } },
  'cogvideox1.5-5b': { pipeline: 'CogVideoXPipeline', transformer: { num_layers: 42, num_attention_heads: 48, attention_head_dim: 64, patch_size_t: 2 } },
  'cogvideox1.5-5b-i2v': { pipeline: 'CogVideoXImageToVideoPipeline', transformer: { num_layers: 42, num_attention_heads: 48, attention_head_dim: 64, patch_size_t: 2 } },
} as const;

describe('model catalogue', () => {
  test('each real model is told apart by its own config files', () => {
    for (const [name, facts] of Object.entries(REAL)) assert.equal(identifyModel(facts), name, name);
  });

  test('tiny test pipelines read as the smaller model of their kind; other classes are no model', () => {
    assert.equal(identifyModel({ pipeline: 'CogVideoXPipeline', transformer: { num_layers: 1, num_attention_heads: 2, attention_head_dim: 16 } }), 'cogvideox-2b');
    assert.equal(identifyModel({ pipeline: 'CogVideoXImageToVideoPipeline', transformer: { num_layers: 1, num_attention_heads: 2, attention_head_dim: 16 } }), 'cogvideox-5b-i2v');
    assert.equal(identifyModel({ pipeline: 'CogVideoXVideoToVideoPipeline', transformer: {} }), null);
    assert.equal(identifyModel({ pipeline: 'StableDiffusionPipeline', transformer: {} }), null);
  });

  test('a worker reads its model from the directory, or from ENGINE_MODEL_NAME, or from a known hub id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cogcast-model-'));
    try {
      mkdirSync(join(dir, 'transformer'));
      writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'CogVideoXImageToVideoPipeline' }));
      writeFileSync(join(dir, 'transformer', 'config.json'), JSON.stringify(REAL['cogvideox-5b-i2v'].transformer));
      assert.equal(heldModel('auto', dir), 'cogvideox-5b-i2v');
      assert.equal(heldModel('cogvideox-5b', dir), 'cogvideox-5b', 'the operator\'s name wins');
      writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'FluxPipeline' }));
      assert.throws(() => heldModel('auto', dir), /FluxPipeline.*neither CogVideoXPipeline nor CogVideoXImageToVideoPipeline/);
      const empty = { HF_HUB_CACHE: join(dir, 'no-cache') };
      assert.equal(heldModel('auto', 'THUDM/CogVideoX-5b-I2V', empty), 'cogvideox-5b-i2v', 'a hub id not yet downloaded: its repository');
      assert.throws(() => heldModel('auto', 'someone/else', empty), /set ENGINE_MODEL_NAME/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the first model keeps QUEUE_NAME; the others get a lane beside it', () => {
    assert.equal(modelQueueName('cogcast-video', 'cogvideox-2b'), 'cogcast-video');
    assert.equal(modelQueueName('cogcast-video', 'cogvideox-5b-i2v'), 'cogcast-video-cogvideox-5b-i2v');
    assert.equal(new Set(MODEL_NAMES.map((m) => modelQueueName('q', m))).size, MODEL_NAMES.length, 'one lane per model');
  });
});

describe('presets and models', () => {
  const book = loadPresets(join(REPO_ROOT, 'config/presets.json'));

  test('the presets file runs every catalogue model, each at its model card\'s shape, precision and guidance', () => {
    assert.deepEqual(new Set(modelsOf(book)), new Set(MODEL_NAMES));
    for (const preset of book.byName.values()) {
      const model = presetModel(preset);
      const native = MODELS[model].generation === '1.5' ? { width: 1360, height: 768, frames: 81, fps: 16 } : { width: 720, height: 480, frames: 49, fps: 8 };
      assert.deepEqual({ width: preset.width, height: preset.height, frames: preset.frames, fps: preset.fps }, native, preset.name);
      assert.equal(preset.guidance, 6.0, preset.name);
    }
    assert.equal(MODELS['cogvideox-2b'].dtype, 'float16');
    for (const name of MODEL_NAMES.filter((m) => m !== 'cogvideox-2b')) assert.equal(MODELS[name].dtype, 'bfloat16', name);
  });

  test('a worker warms only its model\'s presets; a model with none gets none', () => {
    const fleet = loadPresets(TINY_FLEET_PRESETS);
    assert.deepEqual(Object.keys(presetsForModel(fleet, 'cogvideox-2b')!.presets), ['tiny']);
    const i2v = presetsForModel(fleet, 'cogvideox-5b-i2v')!;
    assert.deepEqual(Object.keys(i2v.presets), ['tiny-animate']);
    assert.equal(i2v.default, 'tiny-animate', 'the default moves to one of its own');
    assert.equal(presetsForModel(loadPresets(TINY_PRESETS), 'cogvideox-5b'), null);
  });

  test('a preset naming a model the catalogue lacks is refused with the field', () => {
    assert.throws(
      () => parsePresets({ default: 'a', presets: { a: { description: 'x', model: 'cogvideox-9b', width: 64, height: 32, frames: 9, fps: 8, steps: 2, guidance: 6 } } }),
      /presets\.a\.model/,
    );
  });
});
