// Cancel button and /cancel: stop one of your own jobs, or all of them when no job is named.
import { type Command, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { text } from '../src/core/texts.ts';
import { requestCancel } from '../src/queue/job-cancellation.ts';

export interface CancelInput {
  jobId?: string;
}

export default {
  name: 'cancel',
  description: 'Cancel your queued or running video',
  async execute(ctx, input, services) {
    const owner = userKey(ctx);
    const jobIds = input.jobId ? [input.jobId] : await services.quota.pendingJobs(owner);
    if (jobIds.length === 0) throw new UserFacingError('job_not_found');
    let cancelled = 0;
    for (const jobId of jobIds) {
      try {
        const outcome = await requestCancel(services.queue, jobId, owner, ctx.user.isAdmin);
        // A removed job never reaches a worker, so nobody else releases its quota.
        if (outcome === 'removed') await services.quota.release(owner, jobId);
        cancelled += 1;
      } catch (err) {
        // With no job named, skip the ones that finished meanwhile; a named job reports why.
        if (input.jobId || !(err instanceof UserFacingError)) throw err;
        await services.quota.release(owner, jobId);
      }
    }
    if (cancelled === 0) throw new UserFacingError('job_not_found');
    await ctx.reply({ kind: 'info', text: cancelled === 1 ? text('cancel.done_one') : text('cancel.done_many', { count: cancelled }), private: true });
  },
} satisfies Command<CancelInput>;
