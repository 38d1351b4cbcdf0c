// Entry point of one GPU worker process (`npm run worker`): start, serve, shut down gracefully on SIGTERM.
import { env } from '../../config/env.ts';
import { configureLogs, logger } from '../core/log.ts';
import { startProcessOps } from '../ops/process-ops.ts';
import { configuredOutbounds } from '../platforms/configured-outbounds.ts';
import { exitOnSignals } from './exit-on-signals.ts';
import { startVideoWorker } from '../../worker/video-worker.ts';

const log = logger('worker-main');
const config = env();
configureLogs(config);
try {
  const running = await startVideoWorker(config, { deliveries: configuredOutbounds(config) });
  log.info({ workerId: running.id, queue: config.QUEUE_NAME }, 'worker taking jobs');
  const ops = await startProcessOps({ config, port: config.WORKER_METRICS_PORT || null, queue: running.queue, engine: running.engine, log });
  exitOnSignals(log, 'finishing the current job first', () => running.close().then(() => ops.close()));
} catch (err) {
  process.stderr.write(`cogcast worker: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
