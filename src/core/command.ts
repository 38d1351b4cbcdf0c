// What a user-facing command is, what it may use, and the one dispatcher that answers any failure.
import type { Redis } from 'ioredis';
import type { Env } from '../../config/env.ts';
import type { PresetBook } from '../../config/presets.ts';
import type { VideoQueue } from '../queue/video-queue.ts';
import type { ChatContext } from './chat-context.ts';
import { UserFacingError, renderUserMessage } from './errors.ts';
import type { Blocklist } from './prompt.ts';
import type { UserQuota } from './quota.ts';
import type { RateLimiter } from './rate-limit.ts';

/** Everything a command may use, built once per process (see src/app-services.ts). */
export interface CommandServices {
  env: Env;
  presets: PresetBook;
  queue: VideoQueue;
  quota: UserQuota;
  rateLimit: RateLimiter;
  blocklist: Blocklist;
  redis: Redis;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface Command<Input = Record<string, unknown>> {
  name: string;
  description: string;
  /** Refused to anyone the adapter did not mark as admin, revealing nothing. */
  adminOnly?: boolean;
  execute(ctx: ChatContext, input: Input, services: CommandServices): Promise<void>;
}

export function userKey(ctx: ChatContext): string {
  return `${ctx.user.platform}:${ctx.user.id}`;
}

// ioredis may still read 'ready' for a moment after Redis died (the socket's close is handled a tick later), and
// for as long as a link that went silent lasts: then only the command timeout says so.
const CONNECTION_ERROR = /Stream isn't writeable|Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|Command timed out/;

function redisUnavailable(redis: Pick<Redis, 'status'>, err: unknown): boolean {
  if (redis.status !== 'ready') return true;
  const e = err as { name?: string; code?: string; message?: string } | null;
  return e?.name === 'MaxRetriesPerRequestError' || CONNECTION_ERROR.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
}

/** Runs a command; any failure becomes one clear, private reply and never escapes to the adapter. */
export async function dispatch<I>(command: Command<I>, ctx: ChatContext, input: I, services: CommandServices): Promise<void> {
  try {
    if (command.adminOnly && !ctx.user.isAdmin) throw new UserFacingError('not_admin');
    await services.rateLimit.hit(userKey(ctx));
    await command.execute(ctx, input, services);
  } catch (err) {
    let text: string;
    if (err instanceof UserFacingError) {
      text = err.message;
    } else if (redisUnavailable(services.redis, err)) {
      text = renderUserMessage('queue_unavailable');
      services.log('warn', 'command failed: Redis unavailable', { command: command.name, error: String(err) });
    } else {
      text = renderUserMessage('internal');
      services.log('error', 'command failed', { command: command.name, error: err instanceof Error ? err.stack : String(err) });
    }
    try {
      await ctx.reply({ kind: 'error', text, private: true });
    } catch (replyErr) {
      services.log('warn', 'could not send the error reply', { command: command.name, error: String(replyErr) });
    }
  }
}
