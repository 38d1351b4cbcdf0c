// The ChatContext of one request from the web page: the browser's user, replies collected for the HTTP answer.
import type { ChatContext, Reply } from '../../core/chat-context.ts';

export interface WebChatContext extends ChatContext {
  /** What the command answered, in order (the last one is what the page shows). */
  readonly replies: Reply[];
}

export function webChatContext(userId: string): WebChatContext {
  const replies: Reply[] = [];
  return {
    user: { id: userId, name: `web-${userId.slice(0, 8)}`, platform: 'web', isAdmin: false },
    replies,
    async reply(reply) {
      replies.push(reply);
    },
    async deliveryTarget() {
      return { platform: 'web', target: { userId } };
    },
  };
}

/** The job a command accepted, from its reply's Cancel button (as Discord and Telegram render it). */
export function acceptedJobId(replies: readonly Reply[]): string | null {
  const accepted = replies.find((r) => r.kind === 'accepted');
  return accepted?.buttons?.find((b) => b.action === 'cancel')?.jobId ?? null;
}
