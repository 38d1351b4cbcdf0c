// One "worker" process for the pacing test: its own Telegram outbound (its own Bot API client, status writer and
// Redis connection), publishing a burst of job events for its jobs once told to start (a line on stdin).
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { JOB_PAYLOAD_VERSION, type JobRequest } from '../../src/queue/job-contract.ts';
import { JobEvents } from '../../src/queue/job-events.ts';
import { cogcastKey } from '../../src/queue/redis.ts';
import { PlatformOutbounds } from '../../src/platforms/configured-outbounds.ts';
import { TelegramDelivery } from '../../src/platforms/telegram/telegram-delivery.ts';

export interface PacingJob {
  jobId: string;
  chatId: number;
  statusMessageId: number;
}

export interface PacingProcessInput {
  token: string;
  apiRoot: string;
  redisUrl: string;
  queueName: string;
  paceMs: number;
  steps: number;
  jobs: PacingJob[];
}

const input = JSON.parse(process.env.PACING_INPUT ?? '{}') as PacingProcessInput;
const redis = new Redis(input.redisUrl);
const outbounds = new PlatformOutbounds({ redis, prefix: cogcastKey(input.queueName) }).register(
  new TelegramDelivery({ token: input.token, apiRoot: input.apiRoot, editIntervalMs: input.paceMs }),
);
const events = new JobEvents(outbounds.store, outbounds);
const requestOf = (job: PacingJob): JobRequest => ({
  v: JOB_PAYLOAD_VERSION,
  requestId: job.jobId,
  prompt: 'a fox',
  negativePrompt: '',
  preset: 'tiny',
  seed: 1,
  user: { id: String(job.chatId), name: 'alice', platform: 'telegram' },
  delivery: { platform: 'telegram', target: { chatId: job.chatId, statusMessageId: job.statusMessageId } },
  createdAt: Date.now(),
});

process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
// Every job at once, each step as fast as Redis takes it, then done: far more events than the pace allows.
await Promise.all(
  input.jobs.map(async (job) => {
    const subject = { jobId: job.jobId, request: requestOf(job) };
    for (let step = 1; step <= input.steps; step++) await events.publish(subject, 1, { stage: 'generating', step, steps: input.steps });
    await events.publish(subject, 1, { stage: 'done', endToEndS: 1 });
  }),
);
await redis.quit();
process.stdout.write('finished\n');
process.exit(0); // stdin stays open for the readline: leave without waiting for it
