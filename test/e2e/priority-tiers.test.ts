// Priority tiers on real Redis, through the command layer, and one GPU worker (tiny engine) serving them: a
// priority user's job overtakes the waiting ones, whose places and ETAs are told again; a user past the day's GPU
// allowance is served in relax, not refused; two users alternate on one GPU although one of them queued five.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { RELAX_BASE } from '../../src/core/priority-tiers.ts';
import { text } from '../../src/core/texts.ts';
import { waitingInOrder, waitingPerTier } from '../../src/queue/queue-order.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { eventually } from '../helpers/chat-worker-harness.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const ALLOWANCE_S = 60;

describe('priority tiers, relax and fair share', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let worker: RunningWorker | null = null;

  before(async () => {
    t = testConfig({ PRIORITY_IDS: 'cli:vip', GPU_SECONDS_PER_DAY: String(ALLOWANCE_S), QUOTA_MAX_PENDING_PER_USER: '10', QUOTA_MAX_JOBS_PER_HOUR: '100' });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
  });
  after(async () => {
    await worker?.close();
    await services?.close();
    await t?.cleanup();
  });

  async function ask(user: string, prompt: string, opts: { isPriority?: boolean } = {}) {
    const ctx = recordingContext({ id: user, ...opts });
    await dispatch(commands.video, ctx, { prompt, preset: 'tiny' }, services);
    const reply = ctx.replies[0]!;
    assert.equal(reply.kind, 'accepted', reply.text);
    return { jobId: reply.jobId!, text: reply.text };
  }
  const queuedEvent = async (jobId: string) => {
    const status = await services.queue.events!.store.get(jobId);
    assert.equal(status?.event.stage, 'queued');
    return status!.event as { position: number; etaSeconds: number };
  };
  // Each test has users of its own; the jobs of the one before are gone from the queue.
  const clear = () => services.queue.primary.queue.obliterate({ force: true });

  test("a priority user's job overtakes three waiting jobs; their places and ETAs are told again", async () => {
    const waiting = [await ask('a', 'one'), await ask('b', 'two'), await ask('c', 'three')];
    const before = await Promise.all(waiting.map((w) => queuedEvent(w.jobId)));
    assert.deepEqual(before.map((e) => e.position), [1, 2, 3]);
    const vip = await ask('vip', 'me first');
    assert.match(vip.text, /^Queued: #1 in line/);
    assert.ok(vip.text.includes(text('video.priority')), vip.text);
    // A platform role counts as PRIORITY_IDS does (Discord DISCORD_PRIORITY_ROLE_IDS sets isPriority).
    const byRole = await ask('vip2', 'me second', { isPriority: true });
    assert.match(byRole.text, /^Queued: #1 in line/, 'the newest priority job is next');
    await eventually(async () => (await queuedEvent(waiting[2]!.jobId)).position === 5, 10_000, 'the last waiting job told it is now #5');
    const afterwards = await Promise.all(waiting.map((w) => queuedEvent(w.jobId)));
    assert.deepEqual(afterwards.map((e) => e.position), [3, 4, 5]);
    for (const [i, e] of afterwards.entries()) assert.ok(e.etaSeconds > before[i]!.etaSeconds, `job ${i + 1}: ETA ${before[i]!.etaSeconds} -> ${e.etaSeconds} s`);
    assert.deepEqual(await waitingInOrder(services.queue.primary), [byRole.jobId, vip.jobId, ...waiting.map((w) => w.jobId)]);
    assert.deepEqual(await waitingPerTier(services.queue.primary, RELAX_BASE), { priority: 2, normal: 3, relax: 0 });
    await clear();
  });

  test('a user past the day\'s GPU allowance is served in relax, behind later normal jobs, not refused', async () => {
    await services.queue.gpuSeconds.add('cli:tired', ALLOWANCE_S + 1);
    const tired = await ask('tired', 'again');
    assert.ok(tired.text.includes(text('video.relax', { minutes: 1 })), tired.text);
    const fresh = await ask('fresh', 'first today');
    assert.match(fresh.text, /^Queued: #1 in line/, 'a normal job goes ahead of the relax one');
    assert.equal((await services.queue.primary.queue.getJob(tired.jobId))?.opts.priority, RELAX_BASE);
    await eventually(async () => (await queuedEvent(tired.jobId)).position === 2, 10_000, 'the relax job told it is now #2');
    assert.deepEqual(await waitingPerTier(services.queue.primary, RELAX_BASE), { priority: 0, normal: 1, relax: 1 });
    await clear();
  });

  test('two users alternate on one GPU although one queued five', { timeout: 240_000 }, async () => {
    const many = [];
    for (let i = 1; i <= 5; i++) many.push(await ask('many', `take ${i}`));
    const one = [await ask('one', 'mine'), await ask('one', 'mine again')];
    const expected = [many[0], one[0], many[1], one[1], many[2], many[3], many[4]].map((j) => j!.jobId);
    assert.deepEqual(await waitingInOrder(services.queue.primary), expected, 'the queue order alternates');
    const delivery = new CountingDelivery(t.config.OUTPUT_DIR);
    worker = await startVideoWorker(t.config, { deliveries: [delivery] });
    await eventually(async () => delivery.delivered.length === expected.length, 200_000, 'every job delivered');
    assert.deepEqual(delivery.delivered.map((d) => d.jobId), expected, 'the GPU served them in that order');
    // The worker booked each clip's engine time to its owner.
    assert.ok((await services.queue.gpuSeconds.used('cli:many')) > 0);
  });
});
