// Redis connections: one shape for BullMQ workers (block forever, retry forever), one for commands (fail fast);
// both from REDIS_URL (with REDIS_TLS_CA_FILE for rediss://) and both logging their errors through pino.
import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../../config/env.ts';
import { logRedisErrors } from './redis-errors.ts';

/** Where Redis is: the configuration (URL and CA), or a bare URL (tests, plain redis://). */
export type RedisEndpoint = string | Pick<Env, 'REDIS_URL' | 'REDIS_TLS_CA_FILE'>;

/** The URL and the TLS options it needs: a private CA for rediss:// when REDIS_TLS_CA_FILE names one. */
export function redisEndpointOptions(endpoint: RedisEndpoint): { url: string; options: RedisOptions } {
  if (typeof endpoint === 'string') return { url: endpoint, options: {} };
  const url = endpoint.REDIS_URL;
  if (!/^rediss:/i.test(url) || !endpoint.REDIS_TLS_CA_FILE) return { url, options: {} };
  return { url, options: { tls: { ca: readFileSync(endpoint.REDIS_TLS_CA_FILE) } } };
}

/** For BullMQ Workers and QueueEvents: BullMQ requires maxRetriesPerRequest null on blocking connections. */
export function workerConnection(endpoint: RedisEndpoint, extra: RedisOptions = {}): Redis {
  const { url, options } = redisEndpointOptions(endpoint);
  return logRedisErrors(new Redis(url, { maxRetriesPerRequest: null, ...options, ...extra }), 'worker connection');
}

/**
 * A command the bot sends gives up after this long: a link to Redis that went silent (no reset, the socket still
 * "ready") must be answered "queue unavailable" well inside Discord's 3 s, not after TCP gives up minutes later.
 */
export const COMMAND_TIMEOUT_MS = 1500;

/** For the command layer: while Redis is down or cut off a command fails at once and the user is told, never hangs. */
export function commandConnection(endpoint: RedisEndpoint, extra: RedisOptions = {}): Redis {
  const { url, options } = redisEndpointOptions(endpoint);
  return logRedisErrors(
    new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      ...options,
      ...extra,
    }),
    'command connection',
  );
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
