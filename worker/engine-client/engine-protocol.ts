// The worker <-> engine contract, defined once: every JSON-lines message and the engine's settings document.
// The engine validates from the JSON Schema exported from these (contract.schema.json; regenerate it with
// `node --import tsx worker/engine-client/write-contract-schema.ts`); test/unit/engine-contract.test.ts fails when
// the file is stale or when either side adds or drops a field.
import { z } from 'zod';
import { MODEL_NAMES, PIPELINE_CLASSES } from '../../config/models.ts';
import { presetsFileSchema } from '../../config/presets.ts';

/** Seeds are 32-bit everywhere: the chat commands, the job payload and the engine (torch accepts 64). */
export const MAX_SEED = 2 ** 32 - 1;

const jobId = z.string().min(1);
const bytes = z.int().nonnegative();
const seconds = z.number().nonnegative();
/** 0..1, NVML's percent / 100. */
const fraction = z.number().min(0).max(1);

// ---- the engine's settings (worker -> engine, env COGCAST_ENGINE_SETTINGS, one JSON document) ----

export const engineSettingsSchema = z.strictObject({
  /** Absolute directory in the diffusers layout, or a hub id. */
  model: z.string().min(1),
  /** The catalogue model the worker found there (config/models.ts): its presets are the ones below. */
  model_name: z.enum(MODEL_NAMES),
  /** The pipeline class the model's model_index.json must name; the engine loads that class and refuses another. */
  pipeline: z.enum(PIPELINE_CLASSES),
  /** The model's trained precision: what `dtype: auto` means on a GPU. */
  native_dtype: z.enum(['float16', 'bfloat16']),
  device: z.string().regex(/^(auto|cpu|cuda(:\d+)?)$/),
  dtype: z.enum(['auto', 'float16', 'bfloat16', 'float32']),
  memory_profile: z.enum(['auto', 'resident', 'lowvram']),
  compile: z.enum(['auto', '0', '1']),
  compile_cache_dir: z.string().min(1),
  warmup: z.boolean(),
  log_level: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']),
  cfg_parallel: z.boolean(),
  /** The validated presets of this model (presetsForModel): the engine reads no file of its own. */
  presets: presetsFileSchema,
});
export type EngineSettings = z.infer<typeof engineSettingsSchema>;
/** The one environment variable that carries the settings document. */
export const ENGINE_SETTINGS_VAR = 'COGCAST_ENGINE_SETTINGS';

// ---- requests (worker -> engine, stdin) ----

export const requestSchemas = {
  generate: z.strictObject({
    type: z.literal('generate'),
    job_id: jobId,
    /** May be empty here: the engine answers an empty prompt with a bad_input error about the job. */
    prompt: z.string(),
    negative_prompt: z.string().default(''),
    preset: z.string().min(1),
    seed: z.int().min(0).max(MAX_SEED),
    output_dir: z.string().min(1),
    /** Image-to-video: absolute path of an RGB PNG of exactly the preset's width x height, written by the worker
     * (never a name a user chose). Required by an image-to-video pipeline, refused (bad_input) by a text one. */
    image: z.string().min(1).optional(),
  }),
  cancel: z.strictObject({ type: z.literal('cancel'), job_id: jobId }),
  stats: z.strictObject({ type: z.literal('stats') }),
  shutdown: z.strictObject({ type: z.literal('shutdown') }),
};

export const engineRequest = z.discriminatedUnion('type', [requestSchemas.generate, requestSchemas.cancel, requestSchemas.stats, requestSchemas.shutdown]);
export type EngineRequest = z.input<typeof engineRequest>;
export type GenerateRequest = z.input<typeof requestSchemas.generate>;

// ---- messages (engine -> worker, stdout) ----

export const errorKind = z.enum(['oom', 'bad_input', 'internal']);
/** `denoising`: step i of n; `decoding`: the last step is done and the VAE decodes (step = steps). */
export const progressStage = z.enum(['denoising', 'decoding']);

/** What tuning applied at start-up (tuning.py's TuningReport.summary()). */
const tuningSchema = z.strictObject({
  fused_qkv: z.boolean(),
  /** GELU fused into the feed-forward GEMM's epilogue (fused_ff.py). */
  fused_gelu: z.boolean(),
  compiled: z.boolean(),
  /** The attention kernel chosen by measuring on this GPU (cudnn, flash, efficient) or `default`. */
  attention: z.string(),
  /** Candidate kernel -> median milliseconds on the model's shape. */
  attention_ms: z.record(z.string(), z.number().nonnegative()),
  /** How the VAE decodes (vae_decode.py): `eager`, or its compiled channels-last variant. */
  vae_decode: z.string(),
  notes: z.array(z.string()),
});

export const messageSchemas = {
  status: z.strictObject({ type: z.literal('status'), state: z.enum(['loading', 'warming']), preset: z.string().nullable() }),
  ready: z.strictObject({
    type: z.literal('ready'),
    device: z.string(),
    gpu_name: z.string().nullable(),
    dtype: z.string(),
    memory_profile: z.string(),
    presets: z.array(z.string()),
    warmup_seconds: z.record(z.string(), seconds),
    load_seconds: seconds,
    compiled: z.boolean(),
    tuning: tuningSchema,
  }),
  progress: z.strictObject({
    type: z.literal('progress'),
    job_id: jobId,
    stage: progressStage,
    step: z.int().nonnegative(),
    steps: z.int().positive(),
  }),
  result: z.strictObject({
    type: z.literal('result'),
    job_id: jobId,
    preset: z.string(),
    frames_path: z.string(),
    width: z.int().positive(),
    height: z.int().positive(),
    frames: z.int().positive(),
    fps: z.int().positive(),
    seconds: z.strictObject({ text_encode: seconds, denoise: seconds, vae_decode: seconds, total: seconds }),
    /** Per denoising step; [0] includes preparing the latents. */
    step_seconds: z.array(seconds),
    peak_vram_bytes: bytes.nullable(),
    gpu_util_mean: fraction.nullable(),
    gpu_name: z.string().nullable(),
    seed: z.int().min(0).max(MAX_SEED),
    steps: z.int().positive(),
    /** torch.compile graphs built since ready: 0 when serving works as designed. */
    recompiles: z.int().nonnegative(),
  }),
  error: z.strictObject({ type: z.literal('error'), job_id: jobId.nullable(), kind: errorKind, message: z.string() }),
  cancelled: z.strictObject({ type: z.literal('cancelled'), job_id: jobId }),
  /** After every accepted job, once torch.cuda.empty_cache() has run (null figures on CPU). */
  memory: z.strictObject({
    type: z.literal('memory'),
    job_id: jobId,
    allocated_bytes: bytes.nullable(),
    reserved_bytes: bytes.nullable(),
    after_empty_cache: z.boolean(),
  }),
  stats: z.strictObject({
    type: z.literal('stats'),
    device: z.string(),
    gpu_name: z.string().nullable(),
    vram_used_bytes: bytes.nullable(),
    vram_total_bytes: bytes.nullable(),
    gpu_util: fraction.nullable(),
    temperature_c: z.number().nullable(),
    power_w: z.number().nullable(),
    state: z.enum(['idle', 'generating']),
    job_id: jobId.nullable(),
    recompiles: z.int().nonnegative(),
  }),
};

export const engineMessage = z.discriminatedUnion('type', [
  messageSchemas.status,
  messageSchemas.ready,
  messageSchemas.progress,
  messageSchemas.result,
  messageSchemas.error,
  messageSchemas.cancelled,
  messageSchemas.memory,
  messageSchemas.stats,
]);

export type EngineMessage = z.infer<typeof engineMessage>;
export type EngineStatus = z.infer<typeof messageSchemas.status>;
export type EngineReady = z.infer<typeof messageSchemas.ready>;
export type EngineProgress = z.infer<typeof messageSchemas.progress>;
export type EngineResult = z.infer<typeof messageSchemas.result>;
export type EngineMemory = z.infer<typeof messageSchemas.memory>;
export type EngineStats = z.infer<typeof messageSchemas.stats>;
export type EngineTuning = z.infer<typeof tuningSchema>;
export type EngineErrorKind = z.infer<typeof errorKind>;
export type ProgressStage = z.infer<typeof progressStage>;

/** `stray`: not a protocol line (a library printing); `violation`: a message of a known type that breaks the contract. */
export type ParsedLine = { ok: true; message: EngineMessage } | { ok: false; problem: string; kind: 'stray' | 'violation' };

/** Parses one stdout line against the contract. */
export function parseEngineLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, problem: 'not JSON', kind: 'stray' };
  }
  const parsed = engineMessage.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  const known = typeof type === 'string' && Object.hasOwn(messageSchemas, type);
  const issue = parsed.error.issues[0];
  const where = [known ? type : null, ...(issue?.path ?? [])].filter((p) => p !== null).join('.');
  return { ok: false, problem: `${where || '(root)'}: ${issue?.message ?? 'invalid'}`, kind: known ? 'violation' : 'stray' };
}

/** One request line, checked against the contract before it is written (a bug here must not reach the engine). */
export function encodeRequest(request: EngineRequest): string {
  return JSON.stringify(engineRequest.parse(request));
}
