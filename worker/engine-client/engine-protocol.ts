// Typed messages of the worker <-> engine JSON-lines protocol (worker/engine/PROTOCOL.md).
import { z } from 'zod';

export const readyMessage = z.object({
  type: z.literal('ready'),
  device: z.string(),
  gpu_name: z.string().nullable().optional(),
  dtype: z.string().optional(),
  memory_profile: z.string().optional(),
  presets: z.array(z.string()),
  warmup_seconds: z.record(z.string(), z.number()).optional(),
  load_seconds: z.number().optional(),
  compiled: z.boolean().optional(),
});

export const statusMessage = z.object({ type: z.literal('status'), state: z.string(), preset: z.string().nullable().optional() });

export const progressMessage = z.object({
  type: z.literal('progress'),
  job_id: z.string(),
  step: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
});

export const resultMessage = z.object({
  type: z.literal('result'),
  job_id: z.string(),
  frames_path: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  frames: z.number().int().positive(),
  fps: z.number().positive(),
  seconds: z.object({
    text_encode: z.number().nonnegative(),
    denoise: z.number().nonnegative(),
    vae_decode: z.number().nonnegative(),
    total: z.number().nonnegative(),
  }),
  step_seconds: z.array(z.number()).optional(),
  peak_vram_bytes: z.number().nullable(),
  gpu_util_mean: z.number().nullable(),
  gpu_name: z.string().nullable(),
  seed: z.number().int().optional(),
  steps: z.number().int().optional(),
});

export const errorKind = z.enum(['oom', 'bad_input', 'internal']);
export const errorMessage = z.object({
  type: z.literal('error'),
  job_id: z.string().nullable(),
  kind: errorKind,
  message: z.string(),
});

export const cancelledMessage = z.object({ type: z.literal('cancelled'), job_id: z.string() });

export const memoryMessage = z
  .object({ type: z.literal('memory'), job_id: z.string().nullable().optional(), allocated_bytes: z.number().nullable().optional(), reserved_bytes: z.number().nullable().optional() })
  .loose();

export const statsMessage = z
  .object({
    type: z.literal('stats'),
    device: z.string(),
    gpu_name: z.string().nullable(),
    vram_used_bytes: z.number().nullable(),
    vram_total_bytes: z.number().nullable(),
    gpu_util: z.number().nullable(),
    temperature_c: z.number().nullable(),
    power_w: z.number().nullable(),
    state: z.string(),
    job_id: z.string().nullable(),
  })
  .loose();

export const engineMessage = z.discriminatedUnion('type', [
  readyMessage,
  statusMessage,
  progressMessage,
  resultMessage,
  errorMessage,
  cancelledMessage,
  memoryMessage,
  statsMessage,
]);

export type EngineMessage = z.infer<typeof engineMessage>;
export type EngineReady = z.infer<typeof readyMessage>;
export type EngineResult = z.infer<typeof resultMessage>;
export type EngineStats = z.infer<typeof statsMessage>;
export type EngineErrorKind = z.infer<typeof errorKind>;

export interface GenerateRequest {
  type: 'generate';
  job_id: string;
  prompt: string;
  negative_prompt: string;
  preset: string;
  seed: number;
  output_dir: string;
}
export type EngineRequest = GenerateRequest | { type: 'cancel'; job_id: string } | { type: 'stats' } | { type: 'shutdown' };

/** Parses one stdout line; returns null for a line that is not a protocol message (it is logged, not fatal). */
export function parseEngineLine(line: string): EngineMessage | null {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = engineMessage.safeParse(json);
  return parsed.success ? parsed.data : null;
}
