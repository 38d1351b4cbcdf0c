// Stops that let the job finish: the worker started exactly as `npm start`, `npm run worker` and the worker image's
// CMD start it, SIGTERM sent to that top process mid-job; the clip is delivered and the process exits 0. And
// SIGTERM to the worker's node process the moment it picks a job up (the handlers are there before the job).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { cliClipPath } from '../../src/platforms/cli/cli-clip.ts';
import type { JobRequest, JobResult } from '../../src/queue/job-contract.ts';
import { waitUntilReady } from '../../src/queue/redis.ts';
import { eventually } from '../helpers/chat-worker-harness.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type StageHolds, stageHolds } from '../helpers/stage-holds.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';
import { envFor } from '../helpers/worker-process.ts';

const LIMIT = { timeout: 300_000 };

/** The worker image's start command: ENTRYPOINT + CMD of Dockerfile.worker (exec form), and its ENV COGCAST_ROLE. */
function workerImageCommand(): { argv: string[]; env: Record<string, string>; note: string } {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile.worker'), 'utf8');
  const execForm = (instruction: string): string[] => {
    const line = dockerfile.split('\n').find((l) => l.startsWith(`${instruction} [`));
    assert.ok(line, `Dockerfile.worker has an exec-form ${instruction}`);
    return JSON.parse(line.slice(instruction.length + 1)) as string[];
  };
  const cmd = execForm('CMD');
  const entrypoint = execForm('ENTRYPOINT');
  const role = /COGCAST_ROLE=(\w+)/.exec(dockerfile)?.[1];
  assert.equal(role, 'worker');
  // Without Docker, run the same command line; the image's init (tini) only if this host has it.
  const init = entrypoint[0] && existsSync(entrypoint[0]) ? entrypoint : [];
  return { argv: [...init, ...cmd], env: { COGCAST_ROLE: role }, note: init.length ? 'with tini' : 'tini not installed here: CMD alone' };
}

describe('stopping a worker mid-job', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let holds: StageHolds;
  const children: ChildProcess[] = [];

  before(async () => {
    t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10', QUOTA_MAX_JOBS_PER_HOUR: '100' });
    services = createCommandServices(t.config);
    holds = stageHolds(join(t.tmp, 'holds'));
    await waitUntilReady(services.redis);
  });
  after(async () => {
    holds.releaseAll();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await services.close();
    await t.cleanup();
  });

  async function submit(prompt: string): Promise<{ job: Job<JobRequest, JobResult>; outPath: string }> {
    const ctx = recordingContext({ id: 'stops', target: { platform: 'cli', target: {} } });
    await dispatch(commands.video, ctx, { prompt, preset: 'tiny-slow' }, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    const job = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized'])).find((j) => j.data.prompt === prompt);
    assert.ok(job);
    // The worker keeps a CLI job's clip under its own OUTPUT_DIR (the CLI process copies it to --out).
    return { job: job as Job<JobRequest, JobResult>, outPath: cliClipPath(t.config.OUTPUT_DIR, job.id!) };
  }

  function start(argv: string[], extra: Record<string, string>): { child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null }>; output: () => string } {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, env: envFor(t.config, { ...holds.env, ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited, output: () => output.slice(-2000) };
  }

  /** Starts the worker with `argv`, SIGTERMs that process while the job denoises, and checks the job finished first. */
  async function stopMidJob(argv: string[], extra: Record<string, string>, prompt: string): Promise<void> {
    holds.hold('generate');
    const { job, outPath } = await submit(prompt);
    const run = start(argv, extra);
    await Promise.race([holds.reached('generate'), run.exited.then((e) => Promise.reject(new Error(`exited before the job ran (${e.code}): ${run.output()}`)))]);
    assert.equal(await job.getState(), 'active');
    const started = descendants(run.child.pid!);
    assert.ok(started.length > 0, 'the worker runs below the top process');
    // The top process is the one signalled, as `docker compose stop`, systemd or a supervisor would.
    run.child.kill('SIGTERM');
    // Let the signal land while the job is surely still in the middle of its steps, then let the engine go on.
    await new Promise((r) => setTimeout(r, 500));
    holds.release('generate');
    const exit = await run.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `exit 0 after the job (${run.output()})`);
    const finished = await services.queue.primary.queue.getJob(job.id!);
    assert.equal(await finished?.getState(), 'completed', 'the job finished before the process exited');
    assert.ok(existsSync(outPath) && statSync(outPath).size > 0, 'the clip was delivered');
    assert.equal(finished?.attemptsMade, 1, 'in one attempt');
    await eventually(async () => stillRunning(started).length === 0, 10_000, `the stopped worker's processes to be gone: ${stillRunning(started).join(',')}`);
  }

  test('npm start (COGCAST_ROLE=worker): SIGTERM to npm lets the job finish, then exit 0', LIMIT, async () => {
    await stopMidJob(['npm', 'start'], { COGCAST_ROLE: 'worker' }, 'a sailboat at npm start');
  });

  test('npm run worker: SIGTERM to npm lets the job finish, then exit 0', LIMIT, async () => {
    await stopMidJob(['npm', 'run', 'worker'], {}, 'a sailboat at npm run worker');
  });

  test('the worker image\'s CMD: SIGTERM to it lets the job finish, then exit 0', LIMIT, async (ctx) => {
    const image = workerImageCommand();
    ctx.diagnostic(`ran ${image.argv.join(' ')} (${image.note})`);
    await stopMidJob(image.argv, image.env, 'a sailboat in the image');
  });

  test('SIGTERM to the worker\'s node process the moment it takes a job: the job finishes, exit 0', LIMIT, async () => {
    const { job, outPath } = await submit('a sailboat signalled early');
    const run = start([process.execPath, '--import', 'tsx', 'src/bin/worker.ts'], {});
    await eventually(async () => (await job.getState()) === 'active', 180_000, 'the worker to take the job');
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, run.output());
    assert.equal(await (await services.queue.primary.queue.getJob(job.id!))?.getState(), 'completed', 'not left active');
    assert.ok(existsSync(outPath), 'the clip was delivered');
  });
});

/** Every process below `pid` now (children, grandchildren...). */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=']).toString().trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of rows) if (ppid === parent && child !== undefined) (found.push(child), walk(child));
  };
  walk(pid);
  return found;
}

/** Those of `pids` still running (an orphaned node or engine, were any left). */
function stillRunning(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}
