// bench/fleet-bench.ts only: FLEET_WORKERS_PER_PROCESS real cogcast workers (startVideoWorker, as `npm run workers`
// runs several per process) in this process, each with its own timing-only engine stand-in. Prints "ready" once all run.
import { env } from '../../config/env.ts';
import { startVideoWorker, type RunningWorker } from '../../worker/video-worker.ts';

const config = env();
const count = Number(process.env.FLEET_WORKERS_PER_PROCESS ?? '1');
const base = process.env.FLEET_WORKER_BASE ?? `w${process.pid}`;
const running: RunningWorker[] = [];
for (let i = 0; i < count; i++) running.push(await startVideoWorker({ ...config, WORKER_ID: `${base}-${i}` }));
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void Promise.all(running.map((w) => w.close())).then(() => process.exit(0));
});
