// `npm start`: runs the chat bots, one GPU worker, or both (COGCAST_ROLE), and stops them in order on SIGTERM.
import { env } from '../../config/env.ts';
import { configuredOutbounds } from '../platforms/configured-outbounds.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { startChatAdapters, type RunningAdapter } from '../platforms/start-adapters.ts';
import { createCommandServices } from '../app-services.ts';
import { configureLogs, logger } from '../core/log.ts';
import { type RunningOps, startProcessOps } from '../ops/process-ops.ts';

const log = logger('main');
const config = env();
configureLogs(config);
let adapters: RunningAdapter[] = [];
let worker: RunningWorker | null = null;
let services: ReturnType<typeof createCommandServices> | null = null;
let ops: RunningOps | null = null;

async function shutdown(signal: string): Promise<void> {
  log.info({ signal }, 'shutting down');
  // Stop taking requests first, then let the worker finish its job, then close Redis.
  for (const adapter of adapters) await adapter.stop().catch((err: Error) => log.warn({ err: err.message, platform: adapter.platform }, 'adapter stop failed'));
  await worker?.close();
  await ops?.close();
  await services?.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

try {
  if (config.COGCAST_ROLE !== 'worker') {
    services = createCommandServices(config);
    adapters = await startChatAdapters(config, services);
    if (adapters.length === 0) log.warn('no chat platform configured (set TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN); `npm run video` still works');
    else log.info({ platforms: adapters.map((a) => a.platform) }, 'chat bots running');
  }
  if (config.COGCAST_ROLE !== 'bot') {
    worker = await startVideoWorker(config, { deliveries: configuredOutbounds(config) });
    log.info({ workerId: worker.id }, 'GPU worker taking jobs');
  }
  // One /metrics + /healthz per process (a worker in this process makes its engine part of health).
  const port = config.COGCAST_ROLE === 'worker' ? config.WORKER_METRICS_PORT : config.METRICS_PORT;
  const queue = services?.queue ?? worker?.queue;
  if (queue) ops = await startProcessOps({ config, port: port || null, queue, engine: worker?.engine, dashboard: services !== null, log });
} catch (err) {
  process.stderr.write(`cogcast: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
