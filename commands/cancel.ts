// Cancel button and /cancel [id]: stop one of your own jobs, or all of them when no job is named.
import { z } from 'zod';
import type { DeliveryTarget } from '../src/core/chat-context.ts';
import { type Command, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { text } from '../src/core/texts.ts';
import { requestCancel } from '../src/queue/job-cancellation.ts';
import { jobRequestSchema } from '../src/queue/job-contract.ts';

export const cancelInputSchema = z.object({
  jobId: z
    .string()
    .trim()
    .pipe(z.uuid())
    .optional()
    .meta({ description: text('command.cancel.job'), text: true, placeholder: 'ID', invalid: { code: 'bad_job_id' } }),
});

export type CancelInput = z.infer<typeof cancelInputSchema>;

export const cancelCommand = {
  name: 'cancel',
  description: text('command.cancel'),
  input: cancelInputSchema,
  // Discord offers it as the Cancel button only.
  words: { discord: null },
  ack: 'private',
  button: { ack: 'update' },
  async execute(ctx, input, services) {
    const owner = userKey(ctx);
    const jobIds = input.jobId ? [input.jobId] : await services.quota.pendingJobs(owner);
    if (jobIds.length === 0) throw new UserFacingError('job_not_found');
    let cancelled = 0;
    const removedJobs: { jobId: string; delivery: DeliveryTarget }[] = [];
    for (const jobId of jobIds) {
      try {
        // Read before cancelling: a removed job is gone, and its status message must still be marked.
        const delivery = jobRequestSchema.shape.delivery.safeParse((await services.queue.queue.getJob(jobId))?.data?.delivery);
        const outcome = await requestCancel(services.queue, jobId, owner, ctx.user.isAdmin);
        if (outcome === 'removed') {
          // A removed job never reaches a worker, so nobody else releases its quota or marks its message.
          await services.quota.release(owner, jobId);
          if (delivery.success) removedJobs.push({ jobId, delivery: delivery.data });
        }
        cancelled += 1;
      } catch (err) {
        // With no job named, skip the ones that finished meanwhile; a named job reports why.
        if (input.jobId || !(err instanceof UserFacingError)) throw err;
        await services.quota.release(owner, jobId);
      }
    }
    if (cancelled === 0) throw new UserFacingError('job_not_found');
    await ctx.reply({
      kind: 'info',
      text: cancelled === 1 ? text('cancel.done_one') : text('cancel.done_many', { count: cancelled }),
      private: true,
      ...(removedJobs.length > 0 ? { removedJobs } : {}),
    });
  },
} satisfies Command<CancelInput>;

export default cancelCommand;
