// How we read Bot API failures (flood control, server errors, "not modified") and retry the ones worth retrying.
import { setTimeout as sleep } from 'node:timers/promises';
import { TelegramError } from 'telegraf';

/** Seconds Telegram asked us to wait (429 retry_after), or null when the error is not flood control. */
export function retryAfterSeconds(err: unknown): number | null {
  if (!(err instanceof TelegramError) || err.code !== 429) return null;
  return err.parameters?.retry_after ?? 1;
}

/** An edit that changes nothing: harmless, the message already shows what we wanted. */
export function isNotModified(err: unknown): boolean {
  return err instanceof TelegramError && err.code === 400 && err.description.includes('message is not modified');
}

/** Telegram's side or the network failed (5xx, dropped connection): the same call may succeed later. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TelegramError) return err.code >= 500 || err.code === 429;
  const e = err as { name?: string; code?: string } | null;
  return e?.name === 'FetchError' || e?.name === 'AbortError' || ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(e?.code ?? '');
}

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts?: number;
  /** First backoff after a 5xx or network error; doubles each time. */
  baseDelayMs?: number;
  /** Total time we are willing to wait; a retry_after beyond it gives up at once. */
  maxWaitMs?: number;
  /** Called before each wait, for logs. */
  onRetry?: (err: unknown, waitMs: number, attempt: number) => void;
}

/** Runs `call`, retrying 429 after retry_after and 5xx/network errors with exponential backoff. */
export async function withBotApiRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 500;
  let budget = options.maxWaitMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
      const after = retryAfterSeconds(err);
      const waitMs = after !== null ? after * 1000 : base * 2 ** (attempt - 1);
      if (waitMs > budget) throw err;
      budget -= waitMs;
      options.onRetry?.(err, waitMs, attempt);
      await sleep(waitMs);
    }
  }
}
