// The engine's settings document, built once from the worker's configuration and validated by the contract.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Env } from '../../config/env.ts';
import { type ModelName, modelSpec } from '../../config/models.ts';
import { type PresetBook, presetsForModel } from '../../config/presets.ts';
import { type EngineSettings, engineSettingsSchema } from './engine-protocol.ts';

/** Relative engine paths (ENGINE_MODEL, ENGINE_COMPILE_CACHE_DIR) mean the project's folders, whatever the worker's
 * or the engine's working directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function engineSettings(
  config: Pick<Env, 'ENGINE_DEVICE' | 'ENGINE_DTYPE' | 'ENGINE_MEMORY_PROFILE' | 'ENGINE_COMPILE' | 'ENGINE_COMPILE_CACHE_DIR' | 'ENGINE_WARMUP' | 'ENGINE_LOG_LEVEL' | 'ENGINE_CFG_PARALLEL'>,
  presets: PresetBook,
  /** ENGINE_MODEL resolved (model-resolution.ts, against PROJECT_ROOT): an absolute directory or a hub id. */
  model: string,
  /** The catalogue model found in `model` (model-identity.ts): the engine warms only its presets. */
  heldModel: ModelName,
  root = PROJECT_ROOT,
): EngineSettings {
  const own = presetsForModel(presets, heldModel);
  if (!own) throw new ConfigError(`engine settings: the presets name no preset for ${heldModel}, the model in ${model}: add one with "model": "${heldModel}" to the presets file`);
  const spec = modelSpec(heldModel);
  const settings = engineSettingsSchema.safeParse({
    model,
    model_name: heldModel,
    pipeline: spec.pipeline,
    native_dtype: spec.dtype,
    device: config.ENGINE_DEVICE,
    dtype: config.ENGINE_DTYPE,
    memory_profile: config.ENGINE_MEMORY_PROFILE,
    compile: config.ENGINE_COMPILE,
    compile_cache_dir: resolve(root, config.ENGINE_COMPILE_CACHE_DIR),
    warmup: config.ENGINE_WARMUP,
    log_level: config.ENGINE_LOG_LEVEL,
    cfg_parallel: config.ENGINE_CFG_PARALLEL === '1',
    presets: own,
  });
  if (!settings.success) {
    const issue = settings.error.issues[0];
    throw new ConfigError(`engine settings: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return settings.data;
}
