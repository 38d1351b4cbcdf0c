// Redis restarted while jobs wait, run with docker-compose.yml's own persistence settings: nothing queued is lost,
// users are told the queue is unavailable while it is down, and a worker started afterwards delivers every job once.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { type CommandServices, dispatch } from '../../src/core/command.ts';
import { renderUserMessage } from '../../src/core/errors.ts';
import { cliClipPath } from '../../src/platforms/cli/cli-clip.ts';
import { type JobRequest, jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { waitUntilReady } from '../../src/queue/redis.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';

const TIMEOUT = { timeout: 180_000 };

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The arguments docker-compose.yml gives the redis service, without the program name. */
function composeRedisArgs(): string[] {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: { redis: { command: string[] } } };
  const [program, ...args] = compose.services.redis.command;
  assert.equal(program, 'redis-server');
  return args;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** One redis-server process on `port`, persisting into `dir`: what the compose service runs, on this host. */
class RedisProcess {
  private child: ChildProcess | null = null;
  log = '';

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  async start(): Promise<void> {
    const child = spawn('redis-server', [...composeRedisArgs(), '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.log += d.toString();
        if (this.log.includes('Ready to accept connections')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${this.log}`)));
    });
    await Promise.race([ready, sleep(15_000).then(() => Promise.reject(new Error(`redis-server not ready in 15 s:\n${this.log}`)))]);
    this.log = '';
  }

  /** Stops it with `signal` (SIGTERM: a clean shutdown that flushes the AOF; SIGKILL: a crash) and waits for the exit. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
    this.child = null;
  }
}

const available = hasRedisServer();

describe('Redis restarted while jobs wait (compose persistence settings)', { skip: available ? false : 'redis-server is not installed' }, () => {
  let redis: RedisProcess;
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  /** Every accepted job's payload as it was read back from Redis right after enqueueing. */
  const queued = new Map<string, JobRequest>();

  before(async () => {
    const port = await freePort();
    t = testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, QUOTA_MAX_PENDING_PER_USER: '10', QUOTA_MAX_JOBS_PER_HOUR: '100' });
    const dir = join(t.tmp, 'redis-data');
    mkdirSync(dir, { recursive: true });
    redis = new RedisProcess(port, dir);
    await redis.start();
    services = createCommandServices(t.config);
    await waitUntilReady(services.redis, 5000);
  });
  after(async () => {
    await services?.close();
    // The queue's keys die with this Redis: only the temp dirs are left to delete.
    await redis?.stop('SIGKILL');
    rmSync(t.tmp, { recursive: true, force: true });
  });

  async function enqueue(user: string, prompt: string): Promise<string> {
    const ctx = recordingContext({ id: user, target: { platform: 'cli', target: { outPath: join(t.tmp, 'out', `${user}-${queued.size}.mp4`) } } });
    await dispatch(commands.video, ctx, { prompt, seed: queued.size + 1 }, services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    const jobId = ctx.replies[0]!.buttons![0]!.jobId;
    const job = await services.queue.primary.queue.getJob(jobId);
    assert.ok(job, 'the job is in Redis');
    queued.set(jobId, job.data);
    return jobId;
  }

  async function assertUnavailableWhileDown(): Promise<void> {
    const ctx = recordingContext({ id: 'while-down' });
    const started = Date.now();
    await dispatch(commands.video, ctx, { prompt: 'anyone there?' }, services);
    assert.ok(Date.now() - started < 3000, 'answered at once, not after a hang');
    assert.equal(ctx.replies.length, 1);
    assert.deepEqual(ctx.replies[0], { kind: 'error', text: renderUserMessage('queue_unavailable'), private: true });
    assert.equal(ctx.targetsRequested, 0, 'nothing was prepared for delivery');
  }

  async function assertEveryJobWaiting(): Promise<void> {
    const waiting = await services.queue.primary.queue.getJobs(['waiting', 'prioritized']);
    assert.deepEqual(waiting.map((j) => j.id).sort(), [...queued.keys()].sort(), 'the same jobs wait, none lost, none added');
    for (const job of waiting) assert.deepEqual(job.data, queued.get(job.id!), `job ${job.id} payload intact`);
    for (const job of waiting) assert.equal(job.opts.attempts, t.config.JOB_ATTEMPTS, 'retry settings intact');
    // The quota reservations survived too: the users still see these jobs as theirs (and /cancel finds them).
    const owners = new Set([...queued.values()].map((d) => `${d.user.platform}:${d.user.id}`));
    const pending = (await Promise.all([...owners].map((o) => services.quota.pendingJobs(o)))).flat();
    assert.deepEqual(pending.sort(), [...queued.keys()].sort());
  }

  async function restart(): Promise<void> {
    await redis.start();
    // The command connection reconnects by itself (its retry strategy waits at most 2 s between tries).
    await waitUntilReady(services.redis, 10_000);
  }

  test('a clean shutdown (SIGTERM, as `docker compose stop` sends) loses nothing, even right after enqueueing', TIMEOUT, async () => {
    await enqueue('alice', 'a lighthouse in a storm');
    await enqueue('bob', 'a paper boat on a river');
    await enqueue('alice', 'a red fox in the snow');
    await redis.stop('SIGTERM');
    try {
      await assertUnavailableWhileDown();
    } finally {
      await restart();
    }
    await assertEveryJobWaiting();
  });

  test('a crash (SIGKILL) more than a second after the last write loses nothing (appendfsync everysec)', TIMEOUT, async () => {
    await enqueue('carol', 'a windmill at dusk');
    await enqueue('bob', 'a lantern in the fog');
    // appendfsync everysec: writes younger than a second may not be on disk yet.
    await sleep(1500);
    await redis.stop('SIGKILL');
    try {
      await assertUnavailableWhileDown();
    } finally {
      await restart();
    }
    await assertEveryJobWaiting();
    assert.equal(queued.size, 5);
  });

  test('a worker started after the restarts completes every job and delivers each exactly once', TIMEOUT, async () => {
    const events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config.REDIS_URL);
    const delivery = new CountingDelivery(t.config.OUTPUT_DIR);
    let worker: RunningWorker | null = null;
    try {
      await events.waitUntilReady();
      worker = await startVideoWorker(t.config, { deliveries: [delivery] });
      for (const jobId of queued.keys()) {
        const job = (await services.queue.primary.queue.getJob(jobId))!;
        const result = jobResultSchema.parse(await job.waitUntilFinished(events, 120_000));
        assert.equal(result.alreadyDelivered, false);
        assert.equal(result.receipt.path, cliClipPath(t.config.OUTPUT_DIR, jobId));
      }
      for (const jobId of queued.keys()) assert.equal(delivery.deliveriesOf(jobId), 1, `job ${jobId} delivered once`);
      assert.equal(delivery.delivered.length, queued.size, 'nothing else was delivered');
      assert.deepEqual(await services.queue.counts(), { waiting: 0, active: 0, delayed: 0, failed: 0, completed: queued.size });
      const owners = new Set([...queued.values()].map((d) => `${d.user.platform}:${d.user.id}`));
      for (const owner of owners) assert.deepEqual(await services.quota.pendingJobs(owner), [], `${owner}'s quota released`);
    } finally {
      await worker?.close();
      await events.close();
    }
  });
});

describe('the moment Redis dies', () => {
  test('a connection error while the client still reads "ready" is answered as "queue unavailable", not as our fault', async () => {
    // What ioredis throws when the socket is already dead but its close event has not been handled yet.
    const services = {
      redis: { status: 'ready' },
      rateLimit: { hit: () => Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")) },
      log: () => undefined,
    } as unknown as CommandServices;
    const ctx = recordingContext();
    await dispatch(commands.video, ctx, { prompt: 'hello' }, services);
    assert.deepEqual(ctx.replies, [{ kind: 'error', text: renderUserMessage('queue_unavailable'), private: true }]);
  });
});
