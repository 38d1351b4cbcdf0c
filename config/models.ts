// The CogVideoX models cogcast runs: the one list a preset's `model`, a worker's held model and the engine's
// pipeline class are checked against. Native settings are on each preset (config/presets.json), from the model cards.
import { z } from 'zod';

export const PIPELINE_CLASSES = ['CogVideoXPipeline', 'CogVideoXImageToVideoPipeline'] as const;
export type PipelineClass = (typeof PIPELINE_CLASSES)[number];

export interface ModelSpec {
  /** The Hugging Face repository of its weights (npm run model:download -- --model ...). */
  repo: string;
  /** The diffusers class its model_index.json names. */
  pipeline: PipelineClass;
  /** The precision it was trained in (model card): the engine's `ENGINE_DTYPE=auto` on a GPU. */
  dtype: 'float16' | 'bfloat16';
  /** `image`: image-to-video, every job brings a photo; `text`: text-to-video, none may. */
  input: 'text' | 'image';
  /** CogVideoX 1.5: temporal patches (transformer config `patch_size_t`). */
  generation: '1.0' | '1.5';
}

export const MODELS = {
  'cogvideox-2b': { repo: 'THUDM/CogVideoX-2b', pipeline: 'CogVideoXPipeline', dtype: 'float16', input: 'text', generation: '1.0' },
  'cogvideox-5b': { repo: 'THUDM/CogVideoX-5b', pipeline: 'CogVideoXPipeline', dtype: 'bfloat16', input: 'text', generation: '1.0' },
  'cogvideox-5b-i2v': { repo: 'THUDM/CogVideoX-5b-I2V', pipeline: 'CogVideoXImageToVideoPipeline', dtype: 'bfloat16', input: 'image', generation: '1.0' },
  'cogvideox1.5-5b': { repo: 'THUDM/CogVideoX1.5-5B', pipeline: 'CogVideoXPipeline', dtype: 'bfloat16', input: 'text', generation: '1.5' },
  'cogvideox1.5-5b-i2v': { repo: 'THUDM/CogVideoX1.5-5B-I2V', pipeline: 'CogVideoXImageToVideoPipeline', dtype: 'bfloat16', input: 'image', generation: '1.5' },
} as const satisfies Record<string, ModelSpec>;

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];
export const modelNameSchema = z.enum(MODEL_NAMES);

/** A preset without `model` runs the product's first model (every presets file before the fleet). */
export const DEFAULT_MODEL: ModelName = 'cogvideox-2b';

export function modelSpec(name: ModelName): ModelSpec {
  return MODELS[name];
}

/** What a model directory says of itself: model_index.json's class and the transformer's config.json. */
export interface ModelDirectoryFacts {
  pipeline: string;
  transformer: { num_layers?: number; num_attention_heads?: number; attention_head_dim?: number; patch_size_t?: number | null };
}

/**
 * Which catalogue model a directory holds, from its own config files (never its folder name): the pipeline class
 * tells text from image input, `patch_size_t` tells 1.5 from 1.0, and among 1.0 text models the transformer's width
 * tells 5b (42 layers, 48 heads x 64) from 2b (30 layers, 30 heads x 64). A tiny test pipeline reads as the smaller
 * model of its kind. Null: not a CogVideoX pipeline class cogcast runs.
 */
export function identifyModel(facts: ModelDirectoryFacts): ModelName | null {
  if (!(PIPELINE_CLASSES as readonly string[]).includes(facts.pipeline)) return null;
  const image = facts.pipeline === 'CogVideoXImageToVideoPipeline';
  const t = facts.transformer;
  if (t.patch_size_t !== null && t.patch_size_t !== undefined) return image ? 'cogvideox1.5-5b-i2v' : 'cogvideox1.5-5b';
  if (image) return 'cogvideox-5b-i2v';
  const width = (t.num_attention_heads ?? 30) * (t.attention_head_dim ?? 64);
  return width >= 3072 || (t.num_layers ?? 30) >= 42 ? 'cogvideox-5b' : 'cogvideox-2b';
}

/** The BullMQ queue a model's jobs wait in: the first model keeps QUEUE_NAME (an upgraded deployment's waiting
 * jobs are still served), every other model its own queue beside it. */
export function modelQueueName(queueName: string, model: ModelName): string {
  return model === DEFAULT_MODEL ? queueName : `${queueName}-${model}`;
}
