// The queue dashboard (bull-board) for operators, behind HTTP basic auth; off unless a user and password are set.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { type Credentials, isAuthorized, refuse } from './basic-auth.ts';
import { listen, type RunningHttpServer } from './ops-server.ts';

export interface DashboardOptions {
  port: number;
  host: string;
  credentials: Credentials;
  queues: Queue[];
}

/** Whether the configuration turns the dashboard on: both DASHBOARD_USER and DASHBOARD_PASSWORD set. */
export function dashboardCredentials(config: { DASHBOARD_USER: string; DASHBOARD_PASSWORD: string }): Credentials | null {
  return config.DASHBOARD_USER && config.DASHBOARD_PASSWORD ? { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD } : null;
}

const CREDENTIAL_KEY = /(token|secret|password|authorization)$/i;

/** A copy of job data with every credential-looking string field replaced. */
export function hideCredentials(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hideCredentials);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, CREDENTIAL_KEY.test(k) && typeof v === 'string' ? '[redacted]' : hideCredentials(v)]));
}

export async function startDashboard(opts: DashboardOptions): Promise<RunningHttpServer> {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({
    // Read-only: quotas, cancellation and the exactly-once delivery marker live outside BullMQ, so retrying or
    // removing jobs here would bypass them; operators cancel with /cancel and jobs retry by themselves.
    queues: opts.queues.map((queue) => {
      const adapter = new BullMQAdapter(queue, { readOnlyMode: true });
      adapter.setFormatter('data', hideCredentials); // a job's delivery target may hold a chat interaction token
      return adapter;
    }),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'cogcast queue' } },
  });
  // The adapter's router is a whole express app: a plain (req, res) handler behind our own auth check.
  const app = serverAdapter.getRouter() as (req: IncomingMessage, res: ServerResponse) => void;
  const server = createServer((req, res) => {
    if (!isAuthorized(req, opts.credentials)) {
      refuse(res, 'cogcast queue');
      return;
    }
    app(req, res);
  });
  return listen(server, opts.port, opts.host);
}
