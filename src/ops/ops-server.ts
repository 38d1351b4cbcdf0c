// The one HTTP server of a cogcast process for operators (express): GET /healthz, GET /metrics (optionally behind a
// bearer token) and, in bot processes, the queue dashboard under /dashboard/ behind basic auth.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import { basicAuth, bearerAuth, type Credentials } from './basic-auth.ts';
import { dashboardRouter } from './dashboard.ts';
import type { HealthReport } from './health.ts';
import { LoginThrottle } from './login-throttle.ts';
import { metricsRegistry } from './metrics.ts';

export const DASHBOARD_PATH = '/dashboard';

export interface OpsAppOptions {
  health: () => Promise<HealthReport>;
  /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  /** When set, the dashboard of these queues is served under /dashboard/ to this user. */
  dashboard?: { credentials: Credentials; queues: Queue[] };
  /** Shared by the dashboard login and the metrics token: failures from one address back off together. */
  throttle?: LoginThrottle;
  log?: Logger;
}

export function createOpsApp(opts: OpsAppOptions): Express {
  const throttle = opts.throttle ?? new LoginThrottle();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', async (_req, res) => {
    const report = await opts.health();
    res.status(report.ok ? 200 : 503).set('cache-control', 'no-store').json(report);
  });

  const metricsGuard = opts.metricsToken ? [bearerAuth(opts.metricsToken, 'cogcast metrics', throttle)] : [];
  app.get('/metrics', ...metricsGuard, async (_req, res) => {
    const body = await metricsRegistry.metrics();
    res.status(200).type(metricsRegistry.contentType).send(body);
  });

  if (opts.dashboard) {
    app.use(DASHBOARD_PATH, basicAuth(opts.dashboard.credentials, 'cogcast queue', throttle), dashboardRouter(opts.dashboard.queues, DASHBOARD_PATH));
  }

  app.use((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') res.status(405).set('allow', 'GET, HEAD').end();
    else res.status(404).type('text/plain').send(`not found: try /metrics or /healthz${opts.dashboard ? ` or ${DASHBOARD_PATH}/` : ''}\n`);
  });
  // Express 5 forwards a rejected handler here; nothing of the error reaches the client.
  const onError: ErrorRequestHandler = (err: Error, req, res, _next) => {
    opts.log?.warn({ err: err.message, path: req.path }, 'ops request failed');
    if (!res.headersSent) res.status(500).type('text/plain');
    res.end('internal error\n');
  };
  app.use(onError);
  return app;
}

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (0 picks a free port), resolves with the bound port; close() ends idle keep-alive sockets too. */
export async function listen(app: Express, port: number, host: string): Promise<RunningHttpServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
