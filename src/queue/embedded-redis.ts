// Redis for `npm start` on a fresh machine: what answers at the address, else (default address only) a local
// redis-server with AOF and noeviction whose data lives in var/redis, stopped when the product stops.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { hideUrlPassword } from '../../config/env.ts';
import { redisEndpointOptions } from './redis.ts';

/** Redis could not be used; the message is one line for the operator, naming the URL without its password. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export interface ProvidedRedis {
  url: string;
  /** Set when this process started the redis-server; stop() ends it (AOF flushed). */
  embedded: EmbeddedRedis | null;
}

export interface ProvideRedisOptions {
  url: string;
  /** REDIS_TLS_CA_FILE: the private CA of a rediss:// server. */
  tlsCaFile?: string;
  /** The operator named this URL: no local server is started for it, a dead one is an error. */
  operatorSet: boolean;
  /** Where local servers keep their AOF and log (var/redis): one folder per port, so two never share files. */
  dataDir: string;
  log: Logger;
  /** The redis-server binary (tests may point it elsewhere). */
  binary?: string;
}

/** Answers with the Redis to use; throws RedisUnavailableError with one clear line when there is none. */
export async function provideRedis(opts: ProvideRedisOptions): Promise<ProvidedRedis> {
  const shown = hideUrlPassword(opts.url);
  const problem = await pingRedis(opts.url, 2000, opts.tlsCaFile);
  if (problem === null) return { url: opts.url, embedded: null };
  if (opts.operatorSet) {
    throw new RedisUnavailableError(`cannot reach Redis at ${shown} (REDIS_URL): ${problem}. Start Redis there, fix REDIS_URL, or unset it to let npm start run a local one.`);
  }
  const port = Number(new URL(opts.url).port || 6379);
  opts.log.info({ port }, `nothing answers at ${shown}: starting a local redis-server`);
  const embedded = await EmbeddedRedis.start({ port, dataDir: join(opts.dataDir, `port-${port}`), binary: opts.binary ?? 'redis-server' });
  return { url: opts.url, embedded };
}

/** null when `url` answers PING, else a short reason (connection refused, wrong password...). */
export async function pingRedis(url: string, timeoutMs = 2000, tlsCaFile = ''): Promise<string | null> {
  const { options } = redisEndpointOptions({ REDIS_URL: url, REDIS_TLS_CA_FILE: tlsCaFile });
  const redis = new Redis(url, { ...options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The socket's own error (ECONNREFUSED...) says more than the "Connection is closed" connect() rejects with.
  let cause: unknown = null;
  redis.on('error', (err) => {
    cause ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (err) {
    return describeRedisError(cause ?? err);
  } finally {
    redis.disconnect();
  }
}

function describeRedisError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'no answer (timed out)';
    default: {
      const message = (e.message ?? String(err)).split('\n')[0] ?? '';
      if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)) return 'authentication failed (check the user and password in the URL)';
      if (/timeout/i.test(message)) return 'no answer (timed out)';
      return message.replace(/\s+at .*$/, '').replace(/\.+$/, '').slice(0, 120) || 'unreachable';
    }
  }
}

interface EmbeddedRedisOptions {
  port: number;
  dataDir: string;
  binary: string;
  /** How long to wait for the first PONG. */
  startTimeoutMs?: number;
}

/** A redis-server child process on loopback. */
export class EmbeddedRedis {
  private exited = false;

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly logFile: string,
  ) {
    child.once('exit', () => {
      this.exited = true;
    });
  }

  static async start(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
    mkdirSync(opts.dataDir, { recursive: true });
    const logFile = join(opts.dataDir, 'redis.log');
    // The same durability as docker-compose's Redis: AOF fsynced every second, and a full memory refuses
    // writes instead of evicting queue keys.
    const args = [
      '--port', String(opts.port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--dir', opts.dataDir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--maxmemory-policy', 'noeviction',
      '--save', '',
      '--daemonize', 'no',
      '--logfile', logFile,
    ];
    // Its own process group: Ctrl-C in the terminal reaches the whole foreground group, and Redis must outlive
    // the worker finishing its job; stop() ends it last.
    const child = spawn(opts.binary, args, { stdio: 'ignore', detached: true });
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err) => resolve(err));
    });
    if (spawned) {
      const missing = (spawned as NodeJS.ErrnoException).code === 'ENOENT';
      throw new RedisUnavailableError(
        missing
          ? `nothing answers at redis://127.0.0.1:${opts.port} and redis-server is not installed: install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_URL.`
          : `could not start redis-server: ${spawned.message}`,
      );
    }
    const redis = new EmbeddedRedis(`redis://127.0.0.1:${opts.port}`, child, logFile);
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
    let problem: string | null = 'not started';
    while (Date.now() < deadline && !redis.exited) {
      problem = await pingRedis(redis.url, 500);
      if (problem === null) return redis;
      await new Promise((r) => setTimeout(r, 100));
    }
    await redis.stop();
    throw new RedisUnavailableError(`the local redis-server on port ${opts.port} did not start (${redis.lastLogLine() ?? problem}); see ${logFile}, or set REDIS_URL.`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM (Redis flushes the AOF and exits), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private lastLogLine(): string | null {
    try {
      const lines = readFileSync(this.logFile, 'utf8').trim().split('\n');
      return lines.at(-1)?.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ [#*.-] /, '') ?? null;
    } catch {
      return null;
    }
  }
}
