// What a GPU worker reports about itself every few seconds: its GPU, engine, current job and recent record.
import { z } from 'zod';
import { modelNameSchema } from '../../config/models.ts';

/** The engine as an operator sees it ("warming" = loading the model and warming up the presets). */
export const engineStateSchema = z.enum(['warming', 'idle', 'generating', 'restarting', 'stopped']);
export type HeartbeatEngineState = z.infer<typeof engineStateSchema>;

const nullableNumber = z.number().nullable();

export const heartbeatSchema = z.object({
  v: z.literal(1),
  workerId: z.string().min(1),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.number(),
  /** When this record was written (ms since the epoch). */
  at: z.number(),
  intervalMs: z.number().positive(),
  /** The catalogue model it holds (config/models.ts) and takes jobs for; absent from older builds: cogvideox-2b. */
  model: modelNameSchema.optional(),
  /** Torch device of the engine (cuda:0, cpu); null until the engine has said. */
  device: z.string().nullable(),
  /** GPU figures from NVML through the engine; null on a CPU-only worker (or before the engine is up). */
  gpu: z
    .object({
      name: z.string().nullable(),
      /** 0..1 */
      util: nullableNumber,
      vramUsedBytes: nullableNumber,
      vramTotalBytes: nullableNumber,
      temperatureC: nullableNumber,
      powerW: nullableNumber,
    })
    .nullable(),
  engine: z.object({
    state: engineStateSchema,
    restarts: z.number().int().nonnegative(),
    /** What the engine reported (optional: workers of an older build omit it). */
    report: z
      .object({
        /** Attention kernel and whether the transformer is compiled; null before the first ready. */
        attention: z.string().nullable(),
        compiled: z.boolean().nullable(),
        /** torch.compile graphs built since ready: 0 unless a shape escaped the warm-up. */
        recompiles: z.number().int().nonnegative(),
        /** Peak VRAM of the last finished job. */
        lastPeakVramBytes: nullableNumber,
        /** VRAM allocated and reserved after the last job's torch.cuda.empty_cache(). */
        afterJob: z.object({ allocatedBytes: nullableNumber, reservedBytes: nullableNumber }).nullable(),
      })
      .optional(),
  }),
  job: z
    .object({
      id: z.string(),
      stage: z.string(),
      step: z.number().int().nullable(),
      steps: z.number().int().nullable(),
      startedAt: z.number(),
    })
    .nullable(),
  jobsDone: z.number().int().nonnegative(),
  jobsFailed: z.number().int().nonnegative(),
  /** Median seconds a job spent on this worker (recent jobs), null before the first. */
  medianJobS: nullableNumber,
  lastError: z.object({ message: z.string(), at: z.number(), jobId: z.string().nullable() }).nullable(),
});
export type WorkerHeartbeat = z.infer<typeof heartbeatSchema>;
