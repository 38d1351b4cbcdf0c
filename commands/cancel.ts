// Cancel button and /cancel [id]: stop one of your own jobs, or all of them when no job is named.
import { z } from 'zod';
import type { DeliveryTarget } from '../src/core/chat-context.ts';
import { type Command, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { text } from '../src/core/texts.ts';
import { cancelJob } from '../src/queue/job-cancellation.ts';
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
    let tooLate = 0;
    const removedJobs: { jobId: string; delivery: DeliveryTarget }[] = [];
    for (const jobId of jobIds) {
      try {
        // Read before cancelling: a removed job is gone, and its status message must still be marked.
        const delivery = jobRequestSchema.shape.delivery.safeParse((await services.queue.getJob(jobId))?.data?.delivery);
        const { outcome, owner: jobOwner } = await cancelJob(services.queue, jobId, owner, ctx.user.isAdmin);
        if (outcome === 'removed') {
          // A removed job never reaches a worker, so nobody else releases its quota (its owner's, whoever
          // cancelled it) or marks its status message.
          await services.quota.release(jobOwner, jobId);
          if (delivery.success) removedJobs.push({ jobId, delivery: delivery.data });
        }
        if (outcome === 'too_late') tooLate += 1;
        else cancelled += 1;
      } catch (err) {
        // With no job named, skip the ones that finished meanwhile; a named job reports why.
        if (input.jobId || !(err instanceof UserFacingError)) throw err;
        await services.quota.release(owner, jobId);
      }
    }
    // Once posting has begun the clip will arrive: say so, and leave its status message as it is.
    if (cancelled === 0 && tooLate > 0) throw new UserFacingError('cancel_too_late');
    if (cancelled === 0) throw new UserFacingError('job_not_found');
    const done = cancelled === 1 ? text('cancel.done_one', {}, ctx.locale) : text('cancel.done_many', { count: cancelled }, ctx.locale);
    await ctx.reply({
      kind: 'info',
      text: tooLate > 0 ? `${done} ${text('cancel_too_late', {}, ctx.locale)}` : done,
      private: true,
      ...(removedJobs.length > 0 ? { removedJobs } : {}),
    });
  },
} satisfies Command<CancelInput>;

export default cancelCommand;
