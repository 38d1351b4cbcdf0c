// Redis connections: one shape for BullMQ workers (block forever, retry forever), one for commands (fail fast).
import { Redis, type RedisOptions } from 'ioredis';

/** For BullMQ Workers and QueueEvents: BullMQ requires maxRetriesPerRequest null on blocking connections. */
export function workerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...extra });
}

/**
 * A command the bot sends gives up after this long: a link to Redis that went silent (no reset, the socket still
 * "ready") must be answered "queue unavailable" well inside Discord's 3 s, not after TCP gives up minutes later.
 */
export const COMMAND_TIMEOUT_MS = 1500;

/** For the command layer: while Redis is down or cut off a command fails at once and the user is told, never hangs. */
export function commandConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
}

/** Resolves when the connection is ready, or rejects after `timeoutMs`. */
export async function waitUntilReady(redis: Redis, timeoutMs = 3000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Our own keys live beside BullMQ's, namespaced by queue so parallel test queues never collide. */
export function cogcastKey(queueName: string, ...parts: string[]): string {
  return ['cogcast', queueName, ...parts].join(':');
}
