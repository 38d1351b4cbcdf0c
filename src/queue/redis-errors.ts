// Errors of Redis connections and BullMQ objects go to pino, message only. Without a listener, BullMQ and ioredis
// print them to stderr with the failed command's arguments, and on a reconnect those are AUTH's: the password.
import type { Logger } from 'pino';
import { logger } from '../core/log.ts';
import { scrubSecrets } from '../core/scrub-secrets.ts';

interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** During an outage every reconnect fails the same way: one line per source and message a minute, then a count. */
const REPEAT_EVERY_MS = 60_000;

/** Logs `emitter`'s 'error' events through `log` as `source`; the error object itself is never printed. */
export function logRedisErrors<E extends ErrorEmitter>(emitter: E, source: string, log: Logger = logger('redis')): E {
  let last = '';
  let lastAt = 0;
  let repeats = 0;
  emitter.on('error', (err: Error) => {
    const message = scrubSecrets(String(err?.message ?? err));
    const now = Date.now();
    if (message === last && now - lastAt < REPEAT_EVERY_MS) {
      repeats++;
      return;
    }
    log.warn({ source, err: message, code: (err as { code?: unknown })?.code, ...(repeats > 0 ? { repeatedBefore: repeats } : {}) }, `${source} error`);
    last = message;
    lastAt = now;
    repeats = 0;
  });
  return emitter;
}
