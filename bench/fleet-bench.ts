// `npm run bench:fleet`: 1, 10 and 100 real cogcast workers on one Redis (this benchmark's own redis-server), each
// with the TIMING-ONLY engine stand-in (bench/fleet/timing_only_engine_standin.py: fixed seconds per step, no model),
// pulling jobs the real bot command path submits. Prints JSON and writes it to bench/results/fleet-<date>.json.
// Never a test: numbers depend on the machine. Options: --sizes 1,10,100 --jobs 2000 --jobs-1 200
// --per-process 10 (workers per process from 10 workers up) --seconds-per-step 0.05 --users 20 --label x (file name)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { jobResultSchema, type JobRequest } from '../src/queue/job-contract.ts';
import { readHeartbeats } from '../src/queue/fleet-readings.ts';
import { cogcastKey } from '../src/queue/redis.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,10,100' },
    jobs: { type: 'string', default: '2000' },
    'jobs-1': { type: 'string', default: '200' },
    'per-process': { type: 'string', default: '10' },
    'seconds-per-step': { type: 'string', default: '0.05' },
    users: { type: 'string', default: '20' },
    idle: { type: 'string', default: '10' },
    label: { type: 'string', default: '' },
  },
});
const SIZES = args.sizes.split(',').map(Number);
const SECONDS_PER_STEP = Number(args['seconds-per-step']);
const USERS = Number(args.users);
const IDLE_S = Number(args.idle);
const STEPS = 10; // bench/fleet/presets.fleet-bench.json

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

function lines(child: ChildProcess, want: string, timeoutMs: number, what: string): Promise<string> {
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no "${want}" in ${timeoutMs} ms: ${out.slice(-2000)}`)), timeoutMs);
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes(want)) {
        clearTimeout(timer);
        resolvePromise(out);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes(want)) reject(new Error(`${what} exited (${code}): ${out.slice(-2000)}`));
    });
  });
}

function info(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of raw.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function redisCpu(redis: Redis): Promise<number> {
  const cpu = info(await redis.info('cpu'));
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}

async function commandStats(redis: Redis): Promise<Record<string, { calls: number; usec: number }>> {
  const out: Record<string, { calls: number; usec: number }> = {};
  for (const [key, value] of Object.entries(info(await redis.info('commandstats')))) {
    const m = /calls=(\d+),usec=(\d+)/.exec(value);
    if (m) out[key.replace('cmdstat_', '')] = { calls: Number(m[1]), usec: Number(m[2]) };
  }
  return out;
}

function procCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime, cutime, cstime (children waited for: the engine stand-ins and ffmpeg runs) in clock ticks
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

function procRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every worker process started, so a run that fails still leaves none behind (their stand-ins exit on EOF). */
const spawned: ChildProcess[] = [];

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null);
const round = (n: number | null, d = 3) => (n === null ? null : Math.round(n * 10 ** d) / 10 ** d);

/** One heavy user submits half the jobs in one burst first, then the others' jobs interleave: FIFO's worst case. */
function submissionPlan(jobs: number): string[] {
  const heavy = Math.floor(jobs / 2);
  return [...Array.from({ length: heavy }, () => 'user-00-heavy'), ...Array.from({ length: jobs - heavy }, (_, i) => `user-${String(1 + (i % (USERS - 1))).padStart(2, '0')}`)];
}

async function runFleet(redisUrl: string, redis: Redis, size: number, jobs: number, perProcess: number) {
  const queueName = `fleet-bench-${size}-${Date.now()}`;
  const tmp = mkdtempSync(join(tmpdir(), 'cogcast-fleet-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    QUEUE_NAME: queueName,
    PRESETS_FILE: join(ROOT, 'bench/fleet/presets.fleet-bench.json'),
    ENGINE_PYTHON: join(ROOT, 'bench/fleet/timing-only-engine-standin'),
    // Any model directory passes the worker's check; the stand-in never reads it.
    ENGINE_MODEL: process.env.COGCAST_TINY_MODEL ?? join(ROOT, 'var/fixtures/tiny-cogvideox'),
    ENGINE_WARMUP: '0',
    STANDIN_SECONDS_PER_STEP: String(SECONDS_PER_STEP),
    WORK_DIR: join(tmp, 'work'),
    OUTPUT_DIR: join(tmp, 'out'),
    METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    QUEUE_MAX_WAITING: String(jobs + 10),
    QUOTA_MAX_PENDING_PER_USER: String(jobs),
    QUOTA_MAX_JOBS_PER_HOUR: String(jobs),
    RATE_LIMIT_PER_USER_PER_MINUTE: String(jobs * 10),
    RATE_LIMIT_GLOBAL_PER_MINUTE: String(jobs * 10),
    KEEP_COMPLETED_JOBS: String(jobs + 10),
    RESULT_RETENTION_HOURS: '1',
  };
  const processes = Math.ceil(size / perProcess);
  const workers: ChildProcess[] = [];
  const t0 = Date.now();
  for (let p = 0; p < processes; p++) {
    const count = Math.min(perProcess, size - p * perProcess);
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/fleet/fleet-worker.ts')], {
      cwd: ROOT,
      env: { ...env, FLEET_WORKERS_PER_PROCESS: String(count), FLEET_WORKER_BASE: `p${p}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.push(child);
    spawned.push(child);
  }
  await Promise.all(workers.map((w, i) => lines(w, 'ready', 300_000, `worker process ${i}`)));
  const startupS = (Date.now() - t0) / 1000;
  const keyed = { key: (...parts: string[]) => cogcastKey(queueName, ...parts) };

  // The idle fleet: what N workers cost Redis doing nothing (blocking pops, heartbeats, stalled checks).
  await redis.config('RESETSTAT');
  const idleCpu0 = await redisCpu(redis);
  const idleT0 = Date.now();
  await sleep(IDLE_S * 1000);
  const idleS = (Date.now() - idleT0) / 1000;
  const idleStats = await commandStats(redis);
  const idleCalls = Object.values(idleStats).reduce((a, s) => a + s.calls, 0);
  const idleRedisCpu = (await redisCpu(redis)) - idleCpu0;
  const heartbeatsSeen = (await readHeartbeats(redis, keyed)).workers.length;

  // The run: the bot submits, the fleet pulls.
  await redis.config('RESETSTAT');
  const cpu0 = await redisCpu(redis);
  const workerCpu0 = workers.map((w) => procCpuSeconds(w.pid!));
  const runT0 = Date.now();
  const bot = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/fleet/fleet-bot.ts')], {
    cwd: ROOT,
    env: { ...env, FLEET_SUBMISSIONS: JSON.stringify(submissionPlan(jobs)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let botExited = false;
  bot.once('exit', () => (botExited = true));
  const botDone = lines(bot, '\n', 1_800_000, 'bot');
  const queue = new Queue<JobRequest>(queueName, { connection: redis });
  let peakMemory = 0;
  let peakBotRss = 0;
  let completed = 0;
  let failed = 0;
  while (completed + failed < jobs) {
    await sleep(1000);
    const counts = await queue.getJobCounts('completed', 'failed');
    completed = counts.completed ?? 0;
    failed = counts.failed ?? 0;
    peakMemory = Math.max(peakMemory, Number(info(await redis.info('memory')).used_memory));
    peakBotRss = Math.max(peakBotRss, procRssBytes(bot.pid!));
    if (botExited && completed + failed < jobs && (await queue.getJobCounts('waiting', 'active')).waiting === 0 && (await queue.getJobCounts('active')).active === 0) {
      throw new Error(`size ${size}: the bot accepted fewer than ${jobs} jobs: ${(await botDone).slice(-500)}`);
    }
    if (Date.now() - runT0 > 1_800_000) throw new Error(`size ${size}: only ${completed}/${jobs} done after 30 min`);
  }
  const runS = (Date.now() - runT0) / 1000;
  const runStats = await commandStats(redis);
  const runRedisCpu = (await redisCpu(redis)) - cpu0;
  const workerCpu = workers.reduce((a, w, i) => a + procCpuSeconds(w.pid!) - workerCpu0[i]!, 0);
  const workerRss = workers.map((w) => procRssBytes(w.pid!));
  const botReport = JSON.parse((await botDone).trim().split('\n').pop()!) as { accepted: number; refused: number; refusals: Record<string, number>; submitSeconds: number; cpuSeconds: number; maxRssBytes: number; answerMs: number[] };

  // Timings from the jobs themselves: enqueued (timestamp), picked up (processedOn), finished (finishedOn).
  const done = await queue.getJobs(['completed'], 0, -1);
  const rows = done.map((j) => ({ user: j.data.user.id, enq: j.timestamp, picked: j.processedOn!, fin: j.finishedOn!, worker: jobResultSchema.parse(j.returnvalue).stats.workerId }));
  const byWorker = new Map<string, typeof rows>();
  for (const r of rows) byWorker.set(r.worker, [...(byWorker.get(r.worker) ?? []), r]);
  // Pick-up latency: from the moment a job could be picked (it was waiting and this worker was free) to its pick-up.
  const pickup: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.picked - b.picked);
    list.forEach((r, i) => pickup.push(r.picked - Math.max(r.enq, i > 0 ? list[i - 1]!.fin : r.enq)));
  }
  pickup.sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => r.picked));
  const last = Math.max(...rows.map((r) => r.fin));
  const perUser = new Map<string, number[]>();
  for (const r of rows) perUser.set(r.user, [...(perUser.get(r.user) ?? []), (r.picked - r.enq) / 1000]);
  const users = [...perUser.entries()].sort().map(([user, waits]) => ({ user, jobs: waits.length, meanWaitS: round(waits.reduce((a, b) => a + b, 0) / waits.length, 1) }));
  const means = users.map((u) => u.meanWaitS ?? 0);
  const jain = means.reduce((a, b) => a + b, 0) ** 2 / (means.length * means.reduce((a, b) => a + b * b, 0) || 1);
  const totalCalls = Object.values(runStats).reduce((a, s) => a + s.calls, 0);
  const top = Object.entries(runStats).sort((a, b) => b[1].calls - a[1].calls).slice(0, 8).map(([cmd, s]) => ({ cmd, callsPerJob: round(s.calls / jobs, 2), usecPerCall: round(s.usec / s.calls, 2) }));
  const jobsPerMin = (rows.length / ((last - first) / 1000)) * 60;
  const answerSorted = [...botReport.answerMs].sort((a, b) => a - b);

  await Promise.all(
    workers.map(async (w) => {
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGTERM');
      const kill = setTimeout(() => w.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(kill);
    }),
  );
  await queue.close();
  rmSync(tmp, { recursive: true, force: true });

  return {
    workers: size,
    layout: perProcess > 1 && size >= perProcess ? `${processes} node processes x ${perProcess} workers (startVideoWorker each, as npm run workers does)` : `${processes} node process(es), one worker each`,
    jobs,
    completed: rows.length,
    failed,
    startupSeconds: round(startupS, 1),
    idle: { seconds: round(idleS, 1), heartbeatsSeen, redisCommandsPerSecond: round(idleCalls / idleS, 1), redisCommandsPerWorkerSecond: round(idleCalls / idleS / size, 2), redisCpuCoreFraction: round(idleRedisCpu / idleS, 4) },
    run: {
      wallSeconds: round(runS, 1),
      jobsPerMinute: round(jobsPerMin, 1),
      idealJobsPerMinute: round((size * 60) / (STEPS * SECONDS_PER_STEP), 1),
      pickupLatencyMs: { p50: pct(pickup, 50), p99: pct(pickup, 99), max: pickup.at(-1) ?? null },
      redis: {
        commandsPerSecond: round(totalCalls / runS, 1),
        commandsPerJob: round(totalCalls / jobs, 1),
        cpuCoreFraction: round(runRedisCpu / runS, 4),
        cpuMsPerJob: round((runRedisCpu * 1000) / jobs, 3),
        peakUsedMemoryBytes: peakMemory,
        topCommands: top,
      },
      bot: {
        acceptedPerSecond: round(botReport.accepted / botReport.submitSeconds, 1),
        refusedThenRetried: botReport.refused,
        refusals: botReport.refusals,
        cpuMsPerCommand: round((botReport.cpuSeconds * 1000) / jobs, 3),
        answerMs: { p50: pct(answerSorted, 50), p99: pct(answerSorted, 99) },
        maxRssBytes: Math.max(botReport.maxRssBytes, peakBotRss),
      },
      workersCpuSecondsPerJob: round(workerCpu / jobs, 4),
      workerProcessRssBytes: { mean: Math.round(workerRss.reduce((a, b) => a + b, 0) / workerRss.length), max: Math.max(...workerRss) },
      fairness: { pattern: 'user-00-heavy submits half the jobs in one burst first, then 19 users interleave', jainIndexOfMeanWait: round(jain, 3), users },
    },
  };
}

const startedAt = new Date().toISOString();
const resultsPath = join(ROOT, 'bench/results', `fleet-${startedAt.slice(0, 10)}${args.label ? `-${args.label}` : ''}.json`);
function describe(results: unknown[], complete: boolean) {
  return {
    benchmark: 'fleet',
    date: startedAt,
    complete,
    command: `npm run bench:fleet -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), note: "shared with other processes; CPU-bound figures are this machine's, Redis/bot per-job costs carry over" },
    redis: `redis-server ${(execFileSync('redis-server', ['--version']).toString().match(/v=(\S+)/) ?? [])[1]}, no persistence, this benchmark's own instance`,
    engine: `TIMING-ONLY STAND-IN (bench/fleet/timing_only_engine_standin.py): ${SECONDS_PER_STEP} s per step x ${STEPS} steps, 16x16x1 frames; no model, no GPU`,
    results,
  };
}
function save(results: unknown[], complete: boolean): string {
  const out = JSON.stringify(describe(results, complete), null, 2);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(resultsPath, `${out}\n`);
  return out;
}

const port = await freePort();
const redisDir = mkdtempSync(join(tmpdir(), 'cogcast-fleet-redis-'));
const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], { stdio: ['ignore', 'pipe', 'pipe'] });
await lines(redisServer, 'Ready to accept connections', 15_000, 'redis-server');
const redisUrl = `redis://127.0.0.1:${port}`;
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const results = [];
try {
  for (const size of SIZES) {
    const jobs = size === 1 ? Number(args['jobs-1']) : Number(args.jobs);
    const perProcess = size >= Number(args['per-process']) ? Number(args['per-process']) : 1;
    process.stderr.write(`fleet-bench: ${size} workers, ${jobs} jobs...\n`);
    const r = await runFleet(redisUrl, redis, size, jobs, perProcess);
    process.stderr.write(`  ${r.run.jobsPerMinute} jobs/min, redis ${r.run.redis.commandsPerSecond} cmd/s at ${r.run.redis.cpuCoreFraction} of a core\n`);
    results.push(r);
    save(results, false); // a partial run still leaves its numbers
  }
} finally {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  redis.disconnect();
  redisServer.kill('SIGKILL');
  rmSync(redisDir, { recursive: true, force: true });
}
process.stdout.write(`${save(results, true)}\n`);
