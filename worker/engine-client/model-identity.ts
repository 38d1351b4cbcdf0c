// Which catalogue model (config/models.ts) a worker holds: read from the model's own files, so a worker announces
// and takes exactly the jobs its weights can run.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../../config/env.ts';
import { MODELS, MODEL_NAMES, type ModelName, identifyModel } from '../../config/models.ts';
import { hubCacheSnapshot } from './model-resolution.ts';

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * ENGINE_MODEL_NAME when the operator named one; else from `model` (a directory, or a hub id: its cached snapshot,
 * or the catalogue entry whose repository it is). Throws ConfigError when the files name no model cogcast runs.
 */
export function heldModel(requested: string, model: string, env: NodeJS.ProcessEnv = process.env): ModelName {
  if (requested !== 'auto') return requested as ModelName;
  const dir = isAbsolute(model) ? model : hubCacheSnapshot(model, env);
  if (dir === null) {
    const byRepo = MODEL_NAMES.find((name) => MODELS[name].repo.toLowerCase() === model.toLowerCase());
    if (byRepo) return byRepo;
    throw new ConfigError(`ENGINE_MODEL=${model}: not downloaded yet and not a repository of config/models.ts, so which model it is cannot be told: set ENGINE_MODEL_NAME (${MODEL_NAMES.join(', ')})`);
  }
  const index = readJson(join(dir, 'model_index.json'));
  const transformer = readJson(join(dir, 'transformer', 'config.json')) ?? {};
  const name = identifyModel({ pipeline: String(index?._class_name ?? ''), transformer });
  if (name === null) throw new ConfigError(`${dir}: model_index.json names ${JSON.stringify(index?._class_name ?? null)}, which is neither CogVideoXPipeline nor CogVideoXImageToVideoPipeline`);
  return name;
}
