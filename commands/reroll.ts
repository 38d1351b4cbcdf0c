// Reroll / Regenerate button: the same prompt and preset as an earlier job, with a new seed; by its owner or in its chat.
import { z } from 'zod';
import { type Command, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { text } from '../src/core/texts.ts';
import { parseJobRequest } from '../src/queue/job-contract.ts';
import { queueVideo } from './video.ts';

export const rerollInputSchema = z.object({
  jobId: z.uuid().meta({ invalid: { code: 'bad_job_id' } }),
});

export type RerollInput = z.infer<typeof rerollInputSchema>;

export const rerollCommand = {
  name: 'reroll',
  description: text('command.reroll'),
  input: rerollInputSchema,
  // A button under a finished video, nothing to type.
  words: { discord: null, telegram: null, cli: null },
  ack: 'public',
  button: { ack: 'public' },
  async execute(ctx, input, services) {
    const job = await services.queue.getJob(input.jobId);
    if (!job) throw new UserFacingError('job_not_found');
    const original = parseJobRequest(job.data);
    // A forged button must not copy someone's prompt into another chat: the owner anywhere, others only where it was made.
    const ownJob = `${original.user.platform}:${original.user.id}` === userKey(ctx);
    if (!ownJob && !(ctx.sameChat?.(original.delivery) ?? false)) throw new UserFacingError('reroll_not_allowed');
    await queueVideo(ctx, { prompt: original.prompt, negativePrompt: original.negativePrompt, preset: original.preset, ...(original.smooth ? { smooth: true } : {}), ...(original.image ? { imageOf: input.jobId } : {}), rerollOf: input.jobId }, services);
  },
} satisfies Command<RerollInput>;

export default rerollCommand;
