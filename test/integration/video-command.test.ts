import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { jobRequestSchema, parseJobRequest } from '../../src/queue/job-contract.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

describe('/video on real Redis', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;

  beforeEach(async () => {
    t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '2', QUOTA_MAX_JOBS_PER_HOUR: '3', QUEUE_MAX_WAITING: '5', PROMPT_BLOCKLIST: 'gore' });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
    await new Promise((r) => setTimeout(r, 50));
  });
  afterEach(async () => {
    await services.close();
    await t.cleanup();
  });

  test('a valid request is enqueued once with a versioned payload, and the reply shows position, ETA and seed', async () => {
    const ctx = recordingContext({ id: 'alice' });
    await dispatch(commands.video, ctx, { prompt: '  a red\u200b fox ', preset: 'TINY', seed: 42 }, services);
    const jobs = await services.queue.primary.queue.getJobs(['waiting', 'prioritized']);
    assert.equal(jobs.length, 1);
    const data = parseJobRequest(jobs[0]!.data);
    assert.equal(data.v, 1);
    assert.equal(data.prompt, 'a red fox');
    assert.equal(data.preset, 'tiny');
    assert.equal(data.seed, 42);
    assert.equal(jobs[0]!.id, data.requestId);
    assert.equal(ctx.replies.length, 1);
    assert.equal(ctx.replies[0]!.kind, 'accepted');
    assert.match(ctx.replies[0]!.text, /#1 in line, ready in about \d+ s/);
    assert.match(ctx.replies[0]!.text, /seed 42/);
    assert.equal(ctx.replies[0]!.buttons?.[0]?.action, 'cancel');
  });

  test('a random seed is chosen, recorded in the job and shown', async () => {
    const ctx = recordingContext();
    await dispatch(commands.video, ctx, { prompt: 'waves' }, services);
    const [job] = await services.queue.primary.queue.getJobs(['waiting', 'prioritized']);
    const seed = parseJobRequest(job!.data).seed;
    assert.ok(Number.isInteger(seed));
    assert.match(ctx.replies[0]!.text, new RegExp(`seed ${seed}`));
  });

  test('positions count the jobs ahead, and the ETA grows with them', async () => {
    const etas: number[] = [];
    for (const user of ['a', 'b', 'c']) {
      const ctx = recordingContext({ id: user });
      await dispatch(commands.video, ctx, { prompt: `clip for ${user}` }, services);
      assert.match(ctx.replies[0]!.text, new RegExp(`#${etas.length + 1} in line`));
      etas.push(Number(/about (\d+) s/.exec(ctx.replies[0]!.text)?.[1]));
    }
    assert.ok(etas[0]! < etas[1]! && etas[1]! < etas[2]!, `ETAs should grow: ${etas.join(',')}`);
  });

  test('the ETA follows recorded job durations', async () => {
    await services.queue.durations.record('tiny', 30);
    await services.queue.durations.record('tiny', 40);
    await services.queue.durations.record('tiny', 1000);
    const first = recordingContext({ id: 'a' });
    await dispatch(commands.video, first, { prompt: 'one' }, services);
    assert.match(first.replies[0]!.text, /about 40 s/);
    const second = recordingContext({ id: 'b' });
    await dispatch(commands.video, second, { prompt: 'two' }, services);
    assert.match(second.replies[0]!.text, /about 80 s/);
  });

  test('bad input gets a clear private error and enqueues nothing', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ prompt: '' }, /prompt is empty/],
      [{ prompt: 'x'.repeat(100_000) }, /too long/],
      [{ prompt: 'some gore' }, /rephrase/],
      [{ prompt: 'ok', preset: 'ultra' }, /Unknown preset "ultra". Choose one of: tiny, tiny-slow/],
      [{ prompt: 'ok', preset: `\u202e\u200b${'x'.repeat(100_000)}` }, /^Unknown preset "x{31}…"\. Choose one of: tiny, tiny-slow\.$/],
      [{ prompt: 'ok', seed: 'abc' }, /seed must be a whole number/],
    ];
    for (const [input, expected] of cases) {
      const ctx = recordingContext();
      await dispatch(commands.video, ctx, input, services);
      assert.equal(ctx.replies.length, 1);
      assert.equal(ctx.replies[0]!.kind, 'error');
      assert.equal(ctx.replies[0]!.private, true);
      assert.match(ctx.replies[0]!.text, expected);
      assert.equal(ctx.targetsRequested, 0, 'no delivery target is prepared for bad input');
    }
    assert.equal(await services.queue.waitingCount(), 0);
  });

  test('quota: jobs waiting per user are capped with a clear refusal; others are unaffected', async () => {
    const alice = recordingContext({ id: 'alice' });
    for (let i = 0; i < 3; i++) await dispatch(commands.video, alice, { prompt: `p${i}` }, services);
    assert.deepEqual(alice.replies.map((r) => r.kind), ['accepted', 'accepted', 'error']);
    assert.match(alice.replies[2]!.text, /already have 2 videos in the queue \(limit 2\)/);
    const bob = recordingContext({ id: 'bob' });
    await dispatch(commands.video, bob, { prompt: 'mine' }, services);
    assert.equal(bob.replies[0]!.kind, 'accepted');
    assert.equal(await services.queue.waitingCount(), 3);
  });

  test('quota: jobs per hour are capped even after earlier jobs left the queue', async () => {
    const carol = recordingContext({ id: 'carol' });
    for (let i = 0; i < 3; i++) {
      await dispatch(commands.video, carol, { prompt: `p${i}` }, services);
      // Finish the job as a worker would, so only the hourly limit can bite.
      const [job] = await services.queue.primary.queue.getJobs(['waiting', 'prioritized']);
      await job!.remove();
      await services.quota.release('cli:carol', job!.id!);
    }
    await dispatch(commands.video, carol, { prompt: 'one more' }, services);
    assert.equal(carol.replies.at(-1)!.kind, 'error');
    assert.match(carol.replies.at(-1)!.text, /reached 3 videos this hour. Try again in about 60 minutes/);
  });

  test('quota: a pending slot whose job vanished (crashed leftovers) is reclaimed once it is old', async () => {
    const hourAgo = Date.now() - 30 * 60_000;
    await services.quota.reserve('cli:dave', 'ghost-1', hourAgo);
    await services.quota.reserve('cli:dave', 'ghost-2', hourAgo);
    const dave = recordingContext({ id: 'dave' });
    await dispatch(commands.video, dave, { prompt: 'c' }, services);
    assert.equal(dave.replies.at(-1)!.kind, 'accepted');
    assert.equal((await services.quota.pendingJobs('cli:dave')).length, 1);
  });

  test('quota holds under concurrency: 20 simultaneous requests from one user enqueue exactly 2', async () => {
    const ctxs = Array.from({ length: 20 }, () => recordingContext({ id: 'eve' }));
    await Promise.all(ctxs.map((ctx, i) => dispatch(commands.video, ctx, { prompt: `burst ${i}` }, services)));
    assert.equal(ctxs.filter((c) => c.replies[0]?.kind === 'accepted').length, 2);
    assert.equal(await services.queue.waitingCount(), 2);
  });

  test('a full queue refuses new requests and gives the hourly slot back', async () => {
    for (let i = 0; i < 5; i++) await dispatch(commands.video, recordingContext({ id: `u${i}` }), { prompt: 'fill' }, services);
    const late = recordingContext({ id: 'late' });
    await dispatch(commands.video, late, { prompt: 'too late' }, services);
    assert.match(late.replies[0]!.text, /queue is full \(5 videos waiting\)/);
    assert.equal(await services.quota.pendingJobs('cli:late').then((j) => j.length), 0);
  });

  test('cancel removes your own waiting job and frees your quota; others may not cancel it', async () => {
    const owner = recordingContext({ id: 'owner' });
    await dispatch(commands.video, owner, { prompt: 'to cancel' }, services);
    const [job] = await services.queue.primary.queue.getJobs(['waiting', 'prioritized']);
    const stranger = recordingContext({ id: 'stranger' });
    await dispatch(commands.cancel, stranger, { jobId: job!.id! }, services);
    assert.match(stranger.replies[0]!.text, /only cancel your own/);
    assert.equal(await services.queue.waitingCount(), 1);
    await dispatch(commands.cancel, owner, { jobId: job!.id! }, services);
    assert.equal(owner.replies.at(-1)!.text, 'Cancelled.');
    assert.equal(await services.queue.waitingCount(), 0);
    assert.deepEqual(await services.quota.pendingJobs('cli:owner'), []);
  });

  test('reroll queues the same prompt and preset with a new seed', async () => {
    const ctx = recordingContext({ id: 'rr' });
    await dispatch(commands.video, ctx, { prompt: 'a lighthouse', preset: 'tiny-slow', seed: 5 }, services);
    const [first] = await services.queue.primary.queue.getJobs(['waiting', 'prioritized']);
    await dispatch(commands.reroll, ctx, { jobId: first!.id! }, services);
    const all = (await services.queue.primary.queue.getJobs(['waiting', 'prioritized'])).map((j) => jobRequestSchema.parse(j.data));
    const reroll = all.find((d) => d.rerollOf === first!.id);
    assert.ok(reroll);
    assert.equal(reroll.prompt, 'a lighthouse');
    assert.equal(reroll.preset, 'tiny-slow');
    assert.notEqual(reroll.seed, 5);
  });

  test('/gpu status is refused to non-admins without revealing anything, and answered for admins', async () => {
    const user = recordingContext({ isAdmin: false });
    await dispatch(commands.gpuStatus, user, {}, services);
    assert.equal(user.replies[0]!.text, 'Sorry, this command is not available to you.');
    const admin = recordingContext({ isAdmin: true });
    await dispatch(commands.gpuStatus, admin, {}, services);
    assert.match(admin.replies[0]!.text, /Queue: 0 waiting/);
    assert.match(admin.replies[0]!.text, /Redis: ok/);
  });
});

describe('/video with Redis down', () => {
  test('answers "queue unavailable" at once and does not hang', async () => {
    const t = testConfig({ REDIS_URL: 'redis://127.0.0.1:6390' });
    const services = createCommandServices(t.config);
    const ctx = recordingContext();
    const started = Date.now();
    await dispatch(commands.video, ctx, { prompt: 'hello' }, services);
    assert.match(ctx.replies[0]!.text, /queue is unavailable right now/);
    assert.ok(Date.now() - started < 5000);
    await services.close();
  });
});

describe('flood control', () => {
  test('one user flooding commands is told to slow down; others still get through; the global cap holds', async () => {
    const t = testConfig({ RATE_LIMIT_PER_USER_PER_MINUTE: '5', RATE_LIMIT_GLOBAL_PER_MINUTE: '8', QUOTA_MAX_PENDING_PER_USER: '50', QUOTA_MAX_JOBS_PER_HOUR: '50' });
    const services = createCommandServices(t.config);
    try {
      await services.queue.primary.queue.waitUntilReady();
      const flooder = recordingContext({ id: 'flooder' });
      for (let i = 0; i < 7; i++) await dispatch(commands.video, flooder, { prompt: `spam ${i}` }, services);
      assert.deepEqual(flooder.replies.map((r) => r.kind), ['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'error', 'error']);
      assert.match(flooder.replies[5]!.text, /Too many requests/);
      const others = Array.from({ length: 5 }, (_, i) => recordingContext({ id: `other${i}` }));
      for (const ctx of others) await dispatch(commands.video, ctx, { prompt: 'hello' }, services);
      // 5 flooder hits + 3 others reach the global cap of 8; the remaining 2 are refused.
      assert.deepEqual(others.map((c) => c.replies[0]!.kind), ['accepted', 'accepted', 'accepted', 'error', 'error']);
      assert.equal(await services.queue.waitingCount(), 8);
    } finally {
      await services.close();
      await t.cleanup();
    }
  });
});
