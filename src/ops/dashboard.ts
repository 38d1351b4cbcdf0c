// The queue dashboard (bull-board), read-only, as an express router; job data, failure reasons, stack traces and
// job logs are shown scrubbed of credentials.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Job, Queue } from 'bullmq';
import type { Router } from 'express';
import { REDACTED, scrubSecrets } from '../core/scrub-secrets.ts';
import type { Credentials } from './basic-auth.ts';

/** Whether the configuration turns the dashboard on: both DASHBOARD_USER and DASHBOARD_PASSWORD set. */
export function dashboardCredentials(config: { DASHBOARD_USER: string; DASHBOARD_PASSWORD: string }): Credentials | null {
  return config.DASHBOARD_USER && config.DASHBOARD_PASSWORD ? { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD } : null;
}

const CREDENTIAL_KEY = /(token|secret|password|authorization)$/i;

/** A copy of job data with every credential-looking field replaced and every string scrubbed. */
export function hideCredentials(value: unknown): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (Array.isArray(value)) return value.map(hideCredentials);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, CREDENTIAL_KEY.test(k) && typeof v === 'string' ? REDACTED : hideCredentials(v)]));
}

/** bull-board's BullMQ adapter, but the jobs it hands out show failedReason and stack traces scrubbed. */
class ScrubbedBullMQAdapter extends BullMQAdapter {
  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    return job && scrubbedJob(job);
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(...args)).map(scrubbedJob);
  }

  override async getJobLogs(id: string): Promise<string[]> {
    return (await super.getJobLogs(id)).map(scrubSecrets);
  }
}

function scrubbedJob(job: Job): Job {
  const toJSON = job.toJSON.bind(job);
  job.toJSON = () => {
    const json = toJSON();
    return { ...json, failedReason: json.failedReason && scrubSecrets(json.failedReason), stacktrace: (json.stacktrace ?? []).map((line) => line && scrubSecrets(line)) };
  };
  return job;
}

/** The dashboard's pages and API, to be mounted at `basePath` behind authentication. */
export function dashboardRouter(queues: Queue[], basePath: string): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    // Read-only: quotas, cancellation and the exactly-once delivery marker live outside BullMQ, so retrying or
    // removing jobs here would bypass them; operators cancel with /cancel and jobs retry by themselves.
    queues: queues.map((queue) => {
      const adapter = new ScrubbedBullMQAdapter(queue, { readOnlyMode: true });
      adapter.setFormatter('data', hideCredentials); // a job's delivery target may hold a chat interaction token
      adapter.setFormatter('returnValue', hideCredentials);
      return adapter;
    }),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'cogcast queue' } },
  });
  return serverAdapter.getRouter() as Router;
}
