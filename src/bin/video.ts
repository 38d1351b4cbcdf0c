// `npm run video -- --prompt "..."`: one video through the real queue and worker, without chat tokens.
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { env } from '../../config/env.ts';
import { queueVideo } from '../../commands/video.ts';
import { createCommandServices } from '../app-services.ts';
import type { ChatContext } from '../core/chat-context.ts';
import { UserFacingError } from '../core/errors.ts';
import { text } from '../core/texts.ts';
import { formatStats } from '../core/stats.ts';
import { jobResultSchema } from '../queue/job-contract.ts';
import { jobEventSchema } from '../queue/job-events.ts';
import { OwnedQueueEvents } from '../queue/queue-events.ts';
import { startVideoWorker, type RunningWorker } from '../../worker/video-worker.ts';
import { configureLogs } from '../core/log.ts';
import { cliLogLevel, terminalProgress } from './terminal-progress.ts';

const USAGE = 'usage: npm run video -- --prompt "a red fox in the snow" [--preset draft] [--seed 42] [--negative "..."] [--out clip.mp4] [--no-worker]';

function parse() {
  try {
    return parseArgs({
      options: {
        prompt: { type: 'string', short: 'p' },
        preset: { type: 'string' },
        seed: { type: 'string' },
        negative: { type: 'string' },
        out: { type: 'string', short: 'o' },
        'no-worker': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}

const args = parse();
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const config = env();
configureLogs({ ...config, LOG_LEVEL: cliLogLevel(config.LOG_LEVEL) });
const services = createCommandServices(config);
const out = resolve(args.out ?? `cogcast-${Date.now()}.mp4`);
const events = new OwnedQueueEvents(config.QUEUE_NAME, config);
let embedded: RunningWorker | null = null;
let exitCode = 0;

const ctx: ChatContext = {
  user: { id: userInfo().username, name: userInfo().username, platform: 'cli', isAdmin: true },
  async reply(reply) {
    process.stderr.write(`${reply.text}\n`);
  },
  async deliveryTarget() {
    return { platform: 'cli', target: { outPath: out } };
  },
};

try {
  await events.waitUntilReady();
  if (!args['no-worker'] && (await services.queue.queue.getWorkersCount()) === 0) {
    process.stderr.write(`${text('cli.starting_worker')}\n`);
    embedded = await startVideoWorker(config);
  }
  const jobId = await queueVideo(ctx, { prompt: args.prompt, preset: args.preset, seed: args.seed, negativePrompt: args.negative }, services);
  const job = await services.queue.queue.getJob(jobId);
  if (!job) throw new Error(`job ${jobId} vanished from the queue`);
  // The terminal is the CLI's status message: a cli-progress bar on a terminal, one line per event elsewhere.
  const display = terminalProgress(job.data);
  events.on('progress', ({ jobId: id, data }) => {
    const event = jobEventSchema.safeParse(data);
    if (id === jobId && event.success) display.update(event.data);
  });
  const result = jobResultSchema.parse(await job.waitUntilFinished(events).finally(() => display.stop()));
  process.stdout.write(`${formatStats(result.stats)}\n${text('cli.wrote', { path: String(result.receipt.path ?? out), bytes: result.bytes })}\n`);
} catch (err) {
  exitCode = 1;
  const message = err instanceof UserFacingError ? err.message : text('cli.failed', { reason: (err as Error).message });
  process.stderr.write(`${message}\n`);
} finally {
  await embedded?.close();
  await events.close();
  await services.close();
}
process.exit(exitCode);
