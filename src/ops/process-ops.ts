// Starts a process's operator endpoints from configuration: /metrics + /healthz, and the dashboard in bot processes.
import type { Logger } from 'pino';
import type { Env } from '../../config/env.ts';
import type { VideoQueue } from '../queue/video-queue.ts';
import { dashboardCredentials, startDashboard } from './dashboard.ts';
import { type EngineHealthSource, healthCheck } from './health.ts';
import { watchQueueDepth } from './metrics.ts';
import { type RunningHttpServer, startOpsServer } from './ops-server.ts';

export interface ProcessOpsOptions {
  config: Env;
  /** Port of /metrics and /healthz; null = off (METRICS_PORT or WORKER_METRICS_PORT set to 0). */
  port: number | null;
  queue: VideoQueue;
  /** In a worker process: /healthz is 503 unless the engine is serving. */
  engine?: EngineHealthSource;
  /** Bot processes serve the dashboard, when DASHBOARD_USER and DASHBOARD_PASSWORD are both set. */
  dashboard?: boolean;
  log: Logger;
}

export interface RunningOps {
  metricsPort: number | null;
  dashboardPort: number | null;
  close(): Promise<void>;
}

export async function startProcessOps(opts: ProcessOpsOptions): Promise<RunningOps> {
  const { config, log } = opts;
  const unwatch = watchQueueDepth(opts.queue);
  // A busy port must not stop a worker from making videos: the endpoint is off, loudly, and health checks notice.
  const serve = async (what: string, start: () => Promise<RunningHttpServer>): Promise<RunningHttpServer | null> => {
    try {
      const server = await start();
      log.info({ port: server.port }, `serving ${what}`);
      return server;
    } catch (err) {
      log.error({ err: (err as Error).message }, `cannot serve ${what}: it is off in this process`);
      return null;
    }
  };
  const metrics =
    opts.port === null
      ? null
      : await serve('/metrics and /healthz', () => startOpsServer({ port: opts.port!, host: config.OPS_HOST, health: healthCheck(opts.queue.redis, opts.engine), log }));
  const credentials = opts.dashboard ? dashboardCredentials(config) : null;
  const dashboard = credentials
    ? await serve('the queue dashboard (basic auth)', () => startDashboard({ port: config.DASHBOARD_PORT, host: config.OPS_HOST, credentials, queues: [opts.queue.queue] }))
    : null;
  return {
    metricsPort: metrics?.port ?? null,
    dashboardPort: dashboard?.port ?? null,
    async close() {
      unwatch();
      await Promise.all([metrics?.close(), dashboard?.close()]);
    },
  };
}
