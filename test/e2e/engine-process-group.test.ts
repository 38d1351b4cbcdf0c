// The engine in its own process group: a signal to the worker's whole group (Ctrl-C, systemd's group kill) never
// stops it mid-step, it still dies with its worker, and it sees an allow-listed environment (no Redis password).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Job, QueueEvents } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';
import { envFor } from '../helpers/worker-process.ts';

const FAKE_AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEYFAKE';

/** The worker as the leader of a process group of its own, as a shell or a service manager starts it. */
function spawnWorkerGroup(t: TestConfig, extra: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/bin/worker.ts')], {
    cwd: REPO_ROOT,
    env: envFor(t.config, { AWS_SECRET_ACCESS_KEY: FAKE_AWS_SECRET, ...extra }),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
}

/** /proc/<pid>/stat: [ppid, pgid] (the fields after the command, which may hold spaces, in parentheses). */
function parentAndGroup(pid: number): [number, number] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[1]), Number(fields[2])];
  } catch {
    return null; // gone
  }
}

function alive(pid: number): boolean {
  const stat = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
  })();
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** The worker's child running `python -m cogcast_engine`. */
function enginePidOf(workerPid: number): number | null {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || parentAndGroup(pid)?.[0] !== workerPid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('cogcast_engine')) return pid;
    } catch {
      /* exited meanwhile */
    }
  }
  return null;
}

async function until<T>(what: string, probe: () => T | null | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stageReached(events: QueueEvents, jobId: string, stage: string): Promise<void> {
  return new Promise((resolve) => {
    const on = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
      if (id === jobId && (data as { stage?: string }).stage === stage) {
        events.off('progress', on);
        resolve();
      }
    };
    events.on('progress', on);
  });
}

describe('engine process group', () => {
  const t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10' });
  const services = createCommandServices(t.config);
  const events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
  const workers: ChildProcess[] = [];
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await events.close();
    await services.close();
    await t.cleanup();
  });

  async function submit(prompt: string): Promise<Job<JobRequest, JobResult>> {
    const ctx = recordingContext({ id: 'pgroup', target: { platform: 'cli', target: { outPath: join(t.tmp, `${prompt.length}-${Date.now()}.mp4`) } } });
    await dispatch(commands.video, ctx, { prompt, preset: 'tiny-slow' }, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    const job = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active'])).find((j) => j.data.prompt === prompt);
    assert.ok(job, `job for ${prompt}`);
    return job as Job<JobRequest, JobResult>;
  }

  test("Ctrl-C to the worker's whole group mid-job: the engine finishes the step and the job, on its first attempt", async () => {
    await events.waitUntilReady();
    const worker = spawnWorkerGroup(t, { WORKER_ID: 'pgroup-int' });
    workers.push(worker);
    let stderr = '';
    worker.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    const job = await submit('a lighthouse in a storm');
    const early = exit.then((code) => {
      throw new Error(`worker exited early (${code}): ${stderr}`);
    });
    await Promise.race([stageReached(events, job.id!, 'generating'), early]);

    const enginePid = await until('the engine process', () => enginePidOf(worker.pid!));
    const [, engineGroup] = parentAndGroup(enginePid)!;
    assert.notEqual(engineGroup, worker.pid, 'the engine has a process group of its own');

    // The environment is allow-listed: no Redis URL (its password), no cloud key; the settings document is there.
    const environ = readFileSync(`/proc/${enginePid}/environ`, 'utf8').split('\0');
    assert.ok(!environ.some((line) => line.startsWith('REDIS_URL=')), 'REDIS_URL reached the engine');
    assert.ok(!environ.some((line) => line.includes(FAKE_AWS_SECRET)), 'a cloud key reached the engine');
    assert.ok(environ.some((line) => line.startsWith('COGCAST_ENGINE_SETTINGS={')), 'the settings document');
    assert.ok(environ.some((line) => line.startsWith('PATH=')));

    process.kill(-worker.pid!, 'SIGINT'); // what a terminal's Ctrl-C does: the whole foreground group
    const result = jobResultSchema.parse(await job.waitUntilFinished(events, 180_000));
    assert.equal(await exit, 0, `worker exit status (stderr: ${stderr.slice(-500)})`);
    assert.equal(result.stats.workerId, 'pgroup-int');
    const finished = await services.queue.primary.queue.getJob(job.id!);
    assert.equal(await finished?.getState(), 'completed');
    assert.equal(finished?.attemptsStarted, 1, 'one attempt: the signal cost none');
    assert.equal(finished?.failedReason ?? '', '');
    assert.ok(existsSync(result.videoPath));
    await until('the engine to have exited with its worker', () => !alive(enginePid), 30_000);
  });

  test('the worker SIGKILLed with its group mid-job: the engine does not outlive it', async () => {
    const worker = spawnWorkerGroup(t, { WORKER_ID: 'pgroup-kill', WORKER_LOCK_DURATION_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000' });
    workers.push(worker);
    const job = await submit('a kite over a field');
    await stageReached(events, job.id!, 'generating');
    const enginePid = await until('the engine process', () => enginePidOf(worker.pid!));
    process.kill(-worker.pid!, 'SIGKILL'); // reaches the worker only: the engine's group is its own
    await until('the engine to exit after its worker died', () => !alive(enginePid), 30_000);
    // Cleanup: the stalled job goes back to the queue; nobody takes it here, so remove it.
    await services.queue.primary.queue.obliterate({ force: true }).catch(() => undefined);
  });
});
