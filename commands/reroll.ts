// Reroll / Regenerate button: the same prompt and preset as an earlier job, with a new seed.
import type { Command } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { parseJobRequest } from '../src/queue/job-contract.ts';
import { queueVideo } from './video.ts';

export interface RerollInput {
  jobId: string;
}

export default {
  name: 'reroll',
  description: 'Generate the same prompt again with a new seed',
  async execute(ctx, input, services) {
    const job = await services.queue.queue.getJob(input.jobId);
    if (!job) throw new UserFacingError('job_not_found');
    const original = parseJobRequest(job.data);
    await queueVideo(ctx, { prompt: original.prompt, negativePrompt: original.negativePrompt, preset: original.preset, rerollOf: input.jobId }, services);
  },
} satisfies Command<RerollInput>;
