// Soak: N tiny jobs through the command layer and one real worker (tiny CPU model, tiny preset), printing JSON with
// the memory of the Node process and the engine, the size of WORK_DIR and OUTPUT_DIR and the queue's Redis keys at
// the start, as the run goes, at the end, and after one janitor sweep: what stays flat and what the settings bound.
//
//   npm run bench:soak                          # 200 jobs
//   npm run bench:soak -- --jobs 20             # a short run
//   npm run bench:soak -- --jobs 200 --retention-s 30 --janitor-s 5 --keep-completed 50
//
// Needs real Redis (REDIS_URL, default redis://127.0.0.1:6379), ffmpeg, .venv and the tiny model
// (COGCAST_TINY_MODEL, default var/fixtures/tiny-cogvideox). Uses a fresh `test-<uuid>` queue, deleted afterwards.
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { commands } from '../commands/index.ts';
import { createCommandServices } from '../src/app-services.ts';
import { dispatch } from '../src/core/command.ts';
import { configureLogs } from '../src/core/log.ts';
import { OwnedQueueEvents } from '../src/queue/queue-events.ts';
import { startVideoWorker } from '../worker/video-worker.ts';
import { recordingContext } from '../test/helpers/recording-context.ts';
import { testConfig } from '../test/helpers/test-config.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200' },
    users: { type: 'string', default: '10' },
    /** Jobs kept waiting ahead of the worker, like a steady trickle of users. */
    backlog: { type: 'string', default: '4' },
    'retention-s': { type: 'string', default: '30' },
    'janitor-s': { type: 'string', default: '5' },
    'output-max-mb': { type: 'string', default: '64' },
    'keep-completed': { type: 'string', default: '50' },
    samples: { type: 'string', default: '10' },
  },
});
const jobs = Number(args.jobs);
const users = Number(args.users);
const backlog = Number(args.backlog);
const retentionS = Number(args['retention-s']);
const janitorS = Number(args['janitor-s']);
const sampleEvery = Math.max(1, Math.round(jobs / Number(args.samples)));

const t = testConfig({
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  QUOTA_MAX_PENDING_PER_USER: '1000',
  QUOTA_MAX_JOBS_PER_HOUR: '100000',
  RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
  QUEUE_MAX_WAITING: '100000',
  // What bounds the temporary state: finished jobs kept in Redis, and the janitor's clip retention and size cap.
  KEEP_COMPLETED_JOBS: args['keep-completed']!,
  KEEP_FAILED_JOBS: args['keep-completed']!,
  RESULT_RETENTION_HOURS: String(retentionS / 3600),
  JANITOR_INTERVAL_S: String(janitorS),
  OUTPUT_MAX_MB: args['output-max-mb']!,
  MIN_FREE_DISK_MB: '0',
  HEARTBEAT_INTERVAL_MS: '5000',
});
configureLogs(t.config);

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const kb = (bytes: number) => Math.round(bytes / 1024);

/** Resident memory of a process from /proc (Linux), in bytes; null when it cannot be read. */
function rssOf(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function du(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = await du(path);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      bytes += (await stat(path).catch(() => ({ size: 0 }))).size;
      files += 1;
    }
  }
  return { bytes, files };
}

const services = createCommandServices(t.config);
const events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);

/** The queue's Redis keys by kind (BullMQ jobs, delivery markers, cached results, the rest) and their memory. */
async function redisKeys(): Promise<Record<string, number>> {
  const counts: Record<string, number> = { total: 0, jobHashes: 0, deliveryMarkers: 0, resultCache: 0, other: 0, bytes: 0 };
  const jobHash = new RegExp(`^bull:${t.config.QUEUE_NAME}:[0-9a-f-]{36}$`);
  for (const pattern of [`bull:${t.config.QUEUE_NAME}:*`, `cogcast:${t.config.QUEUE_NAME}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await services.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        counts.total! += 1;
        if (jobHash.test(key)) counts.jobHashes! += 1;
        else if (key.includes(':delivered:')) counts.deliveryMarkers! += 1;
        else if (key.includes(':result:')) counts.resultCache! += 1;
        else counts.other! += 1;
        counts.bytes! += Number(await services.redis.call('MEMORY', 'USAGE', key).catch(() => 0)) || 0;
      }
    } while (cursor !== '0');
  }
  counts.kb = kb(counts.bytes!);
  delete counts.bytes;
  return counts;
}

let enginePid: () => number | undefined = () => undefined;
async function sample(done: number) {
  // A collection first, so heapUsed is what is alive, not what is waiting to be collected.
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  const [work, output, keys] = await Promise.all([du(t.config.WORK_DIR), du(t.config.OUTPUT_DIR), redisKeys()]);
  return {
    jobsDone: done,
    atS: Math.round((performance.now() - started) / 100) / 10,
    nodeRssMB: mb(mem.rss),
    nodeHeapUsedMB: mb(mem.heapUsed),
    engineRssMB: mb(rssOf(enginePid()) ?? NaN),
    workDir: { kb: kb(work.bytes), files: work.files },
    outputDir: { kb: kb(output.bytes), files: output.files },
    redisKeys: keys,
  };
}

const started = performance.now();
let done = 0;
let failed = 0;
const samples: Awaited<ReturnType<typeof sample>>[] = [];
const durations: number[] = [];
try {
  await events.waitUntilReady();
  await services.queue.primary.queue.waitUntilReady();
  const worker = await startVideoWorker(t.config);
  enginePid = () => worker.engine.pid;
  try {
    events.on('completed', () => (done += 1));
    events.on('failed', ({ prev }) => prev !== 'failed' && (failed += 1));
    const engineRestartsAtStart = worker.engine.restarts;
    samples.push(await sample(0));
    const runStart = performance.now();

    let submitted = 0;
    let nextSample = sampleEvery;
    while (done + failed < jobs) {
      const counts = await services.queue.counts();
      while (submitted < jobs && counts.waiting + counts.delayed < backlog) {
        const ctx = recordingContext({ id: `soak-${submitted % users}` });
        await dispatch(commands.video, ctx, { prompt: `soak clip ${submitted}`, preset: 'tiny', seed: submitted }, services);
        if (ctx.replies[0]?.kind !== 'accepted') throw new Error(`job ${submitted} refused: ${ctx.replies[0]?.text}`);
        submitted += 1;
        counts.waiting += 1;
      }
      if (done >= nextSample && done < jobs) {
        samples.push(await sample(done));
        nextSample += sampleEvery;
      }
      await sleep(50);
    }
    const runS = (performance.now() - runStart) / 1000;
    for (const job of await services.queue.primary.queue.getCompleted(0, 1000)) if (job.finishedOn && job.processedOn) durations.push(job.finishedOn - job.processedOn);
    const end = await sample(done);
    // One retention period plus a sweep later: what is left once the janitor has caught up.
    await sleep((retentionS + janitorS + 1) * 1000);
    const settled = await sample(done);
    const sorted = durations.sort((a, b) => a - b);
    const result = {
      bench: 'soak',
      at: new Date().toISOString(),
      host: { cpus: cpus().length, node: process.version, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' },
      jobs,
      completed: done,
      failed,
      engineRestarts: worker.engine.restarts - engineRestartsAtStart,
      runS: Math.round(runS * 10) / 10,
      jobsPerS: Math.round((done / runS) * 100) / 100,
      jobMs: { p50: sorted[Math.floor(sorted.length / 2)] ?? null, max: sorted.at(-1) ?? null, sampledJobs: sorted.length },
      bounds: {
        KEEP_COMPLETED_JOBS: t.config.KEEP_COMPLETED_JOBS,
        KEEP_FAILED_JOBS: t.config.KEEP_FAILED_JOBS,
        RESULT_RETENTION_HOURS: t.config.RESULT_RETENTION_HOURS,
        JANITOR_INTERVAL_S: t.config.JANITOR_INTERVAL_S,
        OUTPUT_MAX_MB: t.config.OUTPUT_MAX_MB,
        workDirPerJob: 'removed when the job ends (success or failure); the janitor removes leftovers older than 1 h',
        deliveryMarkersAndResultCache: 'one each per job: delivery records kept a day, cached results as long as their clip (RESULT_RETENTION_HOURS), both by Redis TTL',
      },
      start: samples[0],
      end,
      afterJanitor: settled,
      timeline: samples.slice(1),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await worker.close();
  }
} finally {
  await events.close();
  await services.close();
  await t.cleanup();
}
