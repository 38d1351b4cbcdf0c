// Cancel button and /cancel: stop one of your own jobs, or all of them when no job is named.
import { type Command, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { text } from '../src/core/texts.ts';
import { cancelJob } from '../src/queue/job-cancellation.ts';

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
    let tooLate = 0;
    for (const jobId of jobIds) {
      try {
        const { outcome, owner: jobOwner } = await cancelJob(services.queue, jobId, owner, ctx.user.isAdmin);
        // A removed job never reaches a worker, so nobody else releases its quota: give it back to its owner.
        if (outcome === 'removed') await services.quota.release(jobOwner, jobId);
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
    const done = cancelled === 1 ? text('cancel.done_one') : text('cancel.done_many', { count: cancelled });
    await ctx.reply({ kind: 'info', text: tooLate > 0 ? `${done} ${text('cancel_too_late')}` : done, private: true });
  },
} satisfies Command<CancelInput>;
