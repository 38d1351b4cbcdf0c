// Entry point of every GPU worker of a host in one process (`npm run workers`): one per GPU, SIGTERM stops them all.
import { env } from '../../config/env.ts';
import { configureLogs, logger } from '../core/log.ts';
import { startProcessOps } from '../ops/process-ops.ts';
import { configuredOutbounds } from '../platforms/configured-outbounds.ts';
import { exitOnSignals } from './exit-on-signals.ts';
import { planHostGpus, startGpuWorkers } from '../../worker/gpu-workers.ts';

const log = logger("workers");
const config = env();
configureLogs(config);
const stop = exitOnSignals(log, 'every worker finishes its current job first');
try {
  const plan = await planHostGpus(config);
  if (plan.unused.length > 0) log.warn({ unused: plan.unused }, 'GPUs left idle: a CFG-parallel engine takes two');
  const fleet = await startGpuWorkers(config, { deliveries: configuredOutbounds(config) }, plan);
  log.info({ workers: fleet.workers.map((w) => w.id), queue: config.QUEUE_NAME }, 'workers taking jobs');
  // One /metrics + /healthz for the process: healthy while every engine serves.
  const ops = await startProcessOps({ config, port: config.WORKER_METRICS_PORT || null, queue: fleet.workers[0]!.queue, engine: fleet.health, log });
  stop.stopWith(() => fleet.close().then(() => ops.close()));
} catch (err) {
  process.stderr.write(`cogcast workers: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
