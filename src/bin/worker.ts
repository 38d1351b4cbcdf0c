// Entry point of one GPU worker process (`npm run worker`): start, serve, shut down gracefully on SIGTERM.
import { env } from '../../config/env.ts';
import { configureLogs, logger } from '../core/log.ts';
import { type RunningOps, startProcessOps } from '../ops/process-ops.ts';
import { configuredOutbounds } from '../platforms/configured-outbounds.ts';
import { exitOnSignals } from './exit-on-signals.ts';
import { startVideoWorker } from '../../worker/video-worker.ts';

const log = logger('worker-main');
const config = env();
configureLogs(config);
const stop = exitOnSignals(log, 'finishing the current job first');
try {
  const running = await startVideoWorker(config, { deliveries: configuredOutbounds(config) });
  let ops: RunningOps | null = null;
  stop.stopWith(async () => {
    await running.close();
    await ops?.close();
  });
  log.info({ workerId: running.id, queue: config.QUEUE_NAME }, 'worker taking jobs');
  ops = await startProcessOps({ config, port: config.WORKER_METRICS_PORT || null, queue: running.queue, engine: running.engine, log });
} catch (err) {
  process.stderr.write(`cogcast worker: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
