// The job contract between the command layer and the GPU workers: versioned payload and result (progress: job-events.ts).
import { z } from 'zod';
import { jobStatsSchema } from '../core/stats.ts';

export const JOB_NAME = 'video';
export const JOB_PAYLOAD_VERSION = 1;

export const jobRequestSchema = z
  .object({
    v: z.literal(JOB_PAYLOAD_VERSION),
    requestId: z.uuid(),
    prompt: z.string().min(1).max(4000),
    negativePrompt: z.string().max(4000),
    preset: z.string().min(1),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    user: z.object({
      id: z.string().min(1),
      name: z.string(),
      platform: z.enum(['discord', 'telegram', 'cli', 'web']),
    }),
    delivery: z.object({
      platform: z.enum(['discord', 'telegram', 'cli', 'web']),
      target: z.record(z.string(), z.unknown()),
    }),
    /** The requester's language (src/core/locale.ts): the status message, caption and errors speak it. Absent: English. */
    locale: z.string().max(16).optional(),
    /** How much of the timing stats the caption shows (/settings stats); absent: full. */
    stats: z.enum(['full', 'short']).optional(),
    /** Doubles the frame rate after the MP4 encode (ffmpeg minterpolate), a post-process timed in the stats. */
    smooth: z.boolean().optional(),
    /** Image-to-video: the prepared picture (src/media/image-input.ts), stored under the job id (job-images.ts). */
    image: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), width: z.int().positive(), height: z.int().positive() }).optional(),
    /** Set when this job is a reroll of another: same prompt, new seed. */
    rerollOf: z.string().optional(),
    createdAt: z.number().int().positive(),
  })
  .strict();
export type JobRequest = z.infer<typeof jobRequestSchema>;

export const jobResultSchema = z.object({
  v: z.literal(JOB_PAYLOAD_VERSION),
  videoPath: z.string(),
  bytes: z.number().int().nonnegative(),
  stats: jobStatsSchema,
  /** What the platform said about the posted video (message id, file id), for reuse. */
  receipt: z.record(z.string(), z.unknown()),
  /** True when an earlier attempt had already delivered: nothing was posted this time. */
  alreadyDelivered: z.boolean(),
});
export type JobResult = z.infer<typeof jobResultSchema>;

/** Parses untyped job data from Redis; a bad payload names the field. */
export function parseJobRequest(data: unknown): JobRequest {
  const parsed = jobRequestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid job payload: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
