// ENGINE_MODEL=auto picks CogVideoX-2b where a CUDA GPU can run it and the demo model elsewhere; an explicit
// ENGINE_MODEL is never replaced, and a missing or broken one is one paragraph naming what was tried and the fix.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { logger } from '../../src/core/log.ts';
import { DEMO_MODEL_DIR, DEMO_PRESETS_FILE, HUB_MODEL_ID, LOCAL_MODEL_DIR, type ModelProbes, ModelUnavailableError, modelDirectoryProblem, resolveEngineModel } from '../../worker/engine-client/model-resolution.ts';

const log = logger('test');
const root = mkdtempSync(join(tmpdir(), 'cogcast-models-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A directory in the diffusers layout, as far as the resolution looks: index, component folders, weights. */
function fakePipeline(dir: string, opts: { without?: string; noWeights?: string; index?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  const components = { scheduler: ['diffusers', 'CogVideoXDDIMScheduler'], text_encoder: ['transformers', 'T5EncoderModel'], tokenizer: ['transformers', 'T5Tokenizer'], transformer: ['diffusers', 'CogVideoXTransformer3DModel'], vae: ['diffusers', 'AutoencoderKLCogVideoX'] };
  writeFileSync(join(dir, 'model_index.json'), opts.index ?? JSON.stringify({ _class_name: 'CogVideoXPipeline', ...components }));
  for (const name of Object.keys(components)) {
    if (name === opts.without) continue;
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'config.json'), '{}');
    if (['transformer', 'vae', 'text_encoder'].includes(name) && name !== opts.noWeights) writeFileSync(join(dir, name, 'model.safetensors'), 'x');
  }
  return dir;
}

function probes(overrides: Partial<ModelProbes> & { built?: string[] } = {}): Partial<ModelProbes> {
  return {
    cudaGpus: async () => 0,
    hub: async () => 'offline',
    buildDemo: async (dir) => {
      overrides.built?.push(dir);
      fakePipeline(dir);
    },
    ...overrides,
  };
}

let n = 0;
const fresh = () => {
  const dir = join(root, `host-${n++}`);
  mkdirSync(dir);
  return dir;
};
const base = (host: string, requested = 'auto') => ({ requested, device: 'auto', python: '/usr/bin/false', presetsFileSet: false, root: host, env: { HOME: host }, log });

describe('ENGINE_MODEL=auto', () => {
  test('no CUDA GPU: the demo model, built once under var/ and reused, with its presets', async () => {
    const host = fresh();
    const built: string[] = [];
    const first = await resolveEngineModel({ ...base(host), probes: probes({ built }) });
    assert.equal(first.source, 'demo');
    assert.equal(first.demo, true);
    assert.equal(first.model, join(host, DEMO_MODEL_DIR));
    assert.equal(first.presetsFile, join(host, DEMO_PRESETS_FILE));
    assert.match(first.why, /no CUDA GPU/);
    assert.equal(built.length, 1);
    assert.notEqual(built[0], first.model, 'built beside the final folder, then renamed');
    const again = await resolveEngineModel({ ...base(host), probes: probes({ built }) });
    assert.equal(again.model, first.model);
    assert.equal(built.length, 1, 'not built twice');
  });

  test('an operator PRESETS_FILE is kept with the demo model', async () => {
    const resolved = await resolveEngineModel({ ...base(fresh()), presetsFileSet: true, probes: probes() });
    assert.equal(resolved.demo, true);
    assert.equal(resolved.presetsFile, null);
  });

  test('ENGINE_DEVICE=cpu: the demo model even with a GPU and weights', async () => {
    const host = fresh();
    fakePipeline(join(host, LOCAL_MODEL_DIR));
    const resolved = await resolveEngineModel({ ...base(host), device: 'cpu', probes: probes({ cudaGpus: async () => 1 }) });
    assert.equal(resolved.source, 'demo');
    assert.match(resolved.why, /ENGINE_DEVICE=cpu/);
  });

  test('CUDA GPU and models/CogVideoX-2b: that directory', async () => {
    const host = fresh();
    const local = fakePipeline(join(host, LOCAL_MODEL_DIR));
    const resolved = await resolveEngineModel({ ...base(host), probes: probes({ cudaGpus: async () => 2 }) });
    assert.deepEqual({ model: resolved.model, source: resolved.source, demo: resolved.demo, presetsFile: resolved.presetsFile }, { model: local, source: 'local', demo: false, presetsFile: null });
  });

  test('CUDA GPU, no local weights: the hub id where the hub answers, the demo model where it does not', async () => {
    const online = await resolveEngineModel({ ...base(fresh()), probes: probes({ cudaGpus: async () => 1, hub: async () => 'found' }) });
    assert.deepEqual([online.model, online.source], [HUB_MODEL_ID, 'hub']);
    const offline = await resolveEngineModel({ ...base(fresh()), probes: probes({ cudaGpus: async () => 1, hub: async () => 'offline' }) });
    assert.equal(offline.source, 'demo');
    assert.match(offline.why, /no weights/);
  });

  test('CUDA GPU, the weights in the Hugging Face cache: the hub id, without asking the hub', async () => {
    const host = fresh();
    fakePipeline(join(host, 'hf', 'hub', 'models--THUDM--CogVideoX-2b', 'snapshots', 'abc123'));
    let asked = false;
    const resolved = await resolveEngineModel({ ...base(host), env: { HF_HOME: join(host, 'hf') }, probes: probes({ cudaGpus: async () => 1, hub: async () => ((asked = true), 'offline') }) });
    assert.deepEqual([resolved.model, resolved.source, asked], [HUB_MODEL_ID, 'hub', false]);
  });
});

describe('explicit ENGINE_MODEL', () => {
  const paragraph = async (requested: string, host: string, extra: Partial<ModelProbes> = {}) => {
    const err = await resolveEngineModel({ ...base(host, requested), probes: probes(extra) }).then(
      () => assert.fail(`${requested} was accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ModelUnavailableError, String(err));
    assert.ok(!err.message.includes('\n'), 'one paragraph');
    assert.match(err.message, /Fix: /);
    return err.message;
  };

  test('a missing directory: named, never replaced by the demo model', async () => {
    const host = fresh();
    assert.match(await paragraph('/srv/models/CogVideoX-2b', host), /^ENGINE_MODEL=\/srv\/models\/CogVideoX-2b: no such directory \(\/srv\/models\/CogVideoX-2b\)\./);
    assert.match(await paragraph('./weights', host), /no such directory/);
  });

  test('a broken directory says what is wrong with it', async () => {
    const host = fresh();
    const cases: [string, RegExp][] = [
      [fakePipeline(join(host, 'no-vae'), { without: 'vae' }), /the vae folder is missing/],
      [fakePipeline(join(host, 'no-weights'), { noWeights: 'transformer' }), /transformer has no weights/],
      [fakePipeline(join(host, 'bad-index'), { index: '{not json' }), /model_index\.json is not valid JSON/],
      [fakePipeline(join(host, 'other-model'), { index: JSON.stringify({ _class_name: 'StableDiffusionPipeline' }) }), /not a CogVideoX pipeline/],
    ];
    mkdirSync(join(host, 'empty'));
    cases.push([join(host, 'empty'), /no model_index\.json/]);
    writeFileSync(join(host, 'a-file'), 'x');
    cases.push([join(host, 'a-file'), /is a file/]);
    for (const [dir, expected] of cases) assert.match(await paragraph(dir, host), expected, dir);
  });

  test('a good directory is used as is', async () => {
    const host = fresh();
    const dir = fakePipeline(join(host, 'mine'));
    const resolved = await resolveEngineModel({ ...base(host, dir), probes: probes() });
    assert.deepEqual([resolved.model, resolved.source, resolved.demo], [dir, 'local', false]);
    assert.equal(modelDirectoryProblem(dir), null);
  });

  test('a hub id: used where the hub knows it; offline or unknown is a paragraph', async () => {
    const host = fresh();
    const online = await resolveEngineModel({ ...base(host, 'THUDM/CogVideoX-5b'), probes: probes({ hub: async () => 'found' }) });
    assert.deepEqual([online.model, online.source], ['THUDM/CogVideoX-5b', 'hub']);
    assert.match(await paragraph('THUDM/CogVideoX-5b', host, { hub: async () => 'offline' }), /cannot reach/);
    assert.match(await paragraph('nobody/nothing', host, { hub: async () => 'missing' }), /nor a model the hub knows/);
  });
});
