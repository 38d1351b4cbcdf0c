// A ChatContext that records replies: what a user of any platform would have seen.
import type { ChatContext, DeliveryTarget, Platform, Reply } from '../../src/core/chat-context.ts';

export interface RecordingContext extends ChatContext {
  replies: Reply[];
  targetsRequested: number;
}

export function recordingContext(opts: { id?: string; platform?: Platform; isAdmin?: boolean; isPriority?: boolean; target?: DeliveryTarget } = {}): RecordingContext {
  const platform = opts.platform ?? 'cli';
  const ctx: RecordingContext = {
    user: { id: opts.id ?? 'u1', name: 'tester', platform, isAdmin: opts.isAdmin ?? false, ...(opts.isPriority ? { isPriority: true } : {}) },
    replies: [],
    targetsRequested: 0,
    async reply(reply) {
      ctx.replies.push(reply);
    },
    async deliveryTarget() {
      ctx.targetsRequested += 1;
      return opts.target ?? { platform, target: {} };
    },
  };
  return ctx;
}
