// QUEUE_MAX_WAITING under a burst: 60 users ask at the same moment through two bot processes' services (two Redis
// connections, as a Discord and a Telegram bot would), the cap is 5 (as in the abuse probe): exactly 5 jobs wait, the other 55 are told
// the queue is full, and nothing else changed. A freed place (a job taken by a worker) lets the next request in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCommandServices } from '../../src/app-services.ts';
import { text } from '../../src/core/texts.ts';
import { type LoadOutcome, loadPlan, runLoad } from '../helpers/command-load.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const USERS = 60;
const CAP = 5;

describe('QUEUE_MAX_WAITING under a burst from two bot processes', () => {
  let t: TestConfig;
  let bots: ReturnType<typeof createCommandServices>[];
  let outcomes: LoadOutcome[];

  before(async () => {
    // Only the waiting cap may refuse: quotas and rate limits are out of reach.
    t = testConfig({ QUEUE_MAX_WAITING: String(CAP), QUOTA_MAX_PENDING_PER_USER: '5', QUOTA_MAX_JOBS_PER_HOUR: '1000', RATE_LIMIT_PER_USER_PER_MINUTE: '1000', RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000' });
    bots = [createCommandServices(t.config), createCommandServices(t.config)];
    await Promise.all(bots.map((b) => b.queue.primary.queue.waitUntilReady()));
    const plan = loadPlan(USERS, USERS);
    // Even-indexed users through one bot, odd through the other, every request at once.
    const runs = await Promise.all([0, 1].map((b) => runLoad(bots[b]!, plan.filter((r) => r.index % 2 === b))));
    outcomes = runs.flat();
  });
  after(async () => {
    await Promise.all((bots ?? []).map((b) => b.close()));
    await t.cleanup();
  });

  test('exactly the cap is accepted; every other request is told the queue is full', async () => {
    const accepted = outcomes.filter((o) => o.replies[0]?.kind === 'accepted');
    const refused = outcomes.filter((o) => o.replies[0]?.kind !== 'accepted');
    assert.equal(accepted.length, CAP);
    assert.equal(refused.length, USERS - CAP);
    const full = new RegExp(text('queue_full', { waiting: '\\d+' }).replace(/[().]/g, '\\$&'));
    for (const o of refused) assert.match(o.replies[0]?.text ?? '', full, `request ${o.index}`);
    assert.equal(await bots[0]!.queue.waitingCount(), CAP);
  });

  test('a refused request left nothing behind: no job, no pending slot, no place held', async () => {
    const refused = outcomes.filter((o) => o.replies[0]?.kind !== 'accepted');
    for (const o of refused) assert.deepEqual(await bots[0]!.quota.pendingJobs(o.userKey), [], o.userKey);
    assert.equal(await bots[0]!.queue.redis.zcard(bots[0]!.queue.key('waiting-places')), 0);
  });

  test('once a waiting job leaves, exactly one more request gets in', async () => {
    const [oldest] = await bots[0]!.queue.primary.queue.getWaiting(CAP - 1, CAP - 1);
    await oldest!.remove();
    const again = await Promise.all([0, 1, 2].map((i) => runLoad(bots[i % 2]!, [{ index: 1000 + i, userKey: `discord:${900 + i}`, platform: 'discord', userId: String(900 + i), atMs: 0 }])));
    assert.equal(again.flat().filter((o) => o.replies[0]?.kind === 'accepted').length, 1);
    assert.equal(await bots[0]!.queue.waitingCount(), CAP);
  });
});
