// Starts a process's ops server from configuration: /healthz, /metrics, and the dashboard in bot processes.
import type { Logger } from 'pino';
import type { Env } from '../../config/env.ts';
import type { VideoQueue } from '../queue/video-queue.ts';
import { VideoQueues } from '../queue/video-queues.ts';
import { dashboardCredentials } from './dashboard.ts';
import { type EngineHealthSource, healthCheck } from './health.ts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { watchQueueDepth } from './metrics.ts';
import { createOpsApp, DASHBOARD_PATH, listen, type RunningHttpServer } from './ops-server.ts';

export interface ProcessOpsOptions {
  config: Env;
  /** Port of the ops server (0 picks a free one); null = off (METRICS_PORT or WORKER_METRICS_PORT set to 0). */
  port: number | null;
  queue: VideoQueue | VideoQueues;
  /** In a worker process: /healthz is 503 unless the engine is serving. */
  engine?: EngineHealthSource;
  /** Bot processes serve the dashboard, when DASHBOARD_USER and DASHBOARD_PASSWORD are both set. */
  dashboard?: boolean;
  /** Backoff of failed logins (tests use short ones); default DEFAULT_LOGIN_THROTTLE. */
  loginThrottle?: LoginThrottleOptions;
  log: Logger;
}

export interface RunningOps {
  /** The bound port, or null when the server is off (configured so, or its port was taken). */
  port: number | null;
  /** Where the dashboard is served on that port, or null when it is off. */
  dashboardPath: string | null;
  close(): Promise<void>;
}

export async function startProcessOps(opts: ProcessOpsOptions): Promise<RunningOps> {
  const { config, log } = opts;
  // A bot reports every model's lane; a worker, its own.
  const lanes = opts.queue instanceof VideoQueues ? [...opts.queue.lanes.values()] : [opts.queue];
  const unwatches = lanes.map((lane) => watchQueueDepth(lane));
  const unwatch = () => unwatches.forEach((u) => u());
  const credentials = opts.dashboard ? dashboardCredentials(config) : null;
  let server: RunningHttpServer | null = null;
  if (opts.port !== null) {
    const app = createOpsApp({
      health: healthCheck(opts.queue.redis, opts.engine),
      metricsToken: config.METRICS_TOKEN || undefined,
      dashboard: credentials ? { credentials, queues: lanes.map((lane) => lane.queue) } : undefined,
      throttle: new LoginThrottle(opts.loginThrottle),
      log,
    });
    // A busy port must not stop a worker from making videos: the server is off, loudly, and health checks notice.
    try {
      server = await listen(app, opts.port, config.OPS_HOST);
      log.info({ host: config.OPS_HOST, port: server.port, metricsToken: Boolean(config.METRICS_TOKEN), dashboard: credentials ? DASHBOARD_PATH : null }, 'serving /metrics and /healthz');
    } catch (err) {
      log.error({ err: (err as Error).message, host: config.OPS_HOST, port: opts.port }, 'cannot serve /metrics, /healthz and the dashboard: they are off in this process');
    }
  }
  return {
    port: server?.port ?? null,
    dashboardPath: server && credentials ? DASHBOARD_PATH : null,
    async close() {
      unwatch();
      await server?.close();
    },
  };
}
