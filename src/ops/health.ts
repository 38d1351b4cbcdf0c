// What GET /healthz answers: healthy when Redis answers and, in a worker, the engine is loaded and serving.
import type { Redis } from 'ioredis';

export interface HealthReport {
  ok: boolean;
  redis: 'ok' | 'unreachable';
  redisMs: number | null;
  /** Worker processes only: the engine's state (idle and generating are healthy). */
  engine?: string;
}

/** The part of EngineClient health needs (src/ never imports worker/). */
export interface EngineHealthSource {
  state: string;
}

const SERVING = new Set(['idle', 'generating']);

/** Builds the check GET /healthz runs; it never waits longer than `timeoutMs` on Redis. */
export function healthCheck(redis: Redis, engine?: EngineHealthSource, timeoutMs = 1000): () => Promise<HealthReport> {
  return async () => {
    const started = Date.now();
    // A worker's connection queues commands while Redis is down: do not wait on it, ask only a ready one.
    const pong =
      redis.status === 'ready'
        ? await Promise.race([redis.ping().catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), timeoutMs).unref())])
        : null;
    const redisOk = pong === 'PONG';
    const report: HealthReport = { ok: redisOk, redis: redisOk ? 'ok' : 'unreachable', redisMs: redisOk ? Date.now() - started : null };
    if (engine) {
      report.engine = engine.state;
      report.ok &&= SERVING.has(engine.state);
    }
    return report;
  };
}
