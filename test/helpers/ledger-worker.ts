// A GPU worker process (as `npm run worker` starts it) whose local-file delivery also writes LEDGER_FILE.
import { env } from '../../config/env.ts';
import { configureLogs, logger } from '../../src/core/log.ts';
import { exitOnSignals } from '../../src/bin/exit-on-signals.ts';
import { startVideoWorker } from '../../worker/video-worker.ts';
import { LedgerDelivery } from './ledger-delivery.ts';

const config = env();
configureLogs(config);
const log = logger('ledger-worker');
const stop = exitOnSignals(log, 'finishing the current job first');
const ledger = process.env.LEDGER_FILE;
if (!ledger) throw new Error('LEDGER_FILE is not set');
try {
  const running = await startVideoWorker(config, { deliveries: [new LedgerDelivery(config.OUTPUT_DIR, ledger, config.WORKER_ID || 'worker')] });
  log.info({ workerId: running.id }, 'worker taking jobs');
  stop.stopWith(() => running.close());
} catch (err) {
  process.stderr.write(`ledger worker: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
