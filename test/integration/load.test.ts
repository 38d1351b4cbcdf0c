// 1,000 /video and /gen requests from 200 users at once, through the command layer on real Redis: every accepted
// request is one job, every refusal is a quota refusal the user can read, no user gets past the quota.
// Timings are the benchmark's business (npm run bench:load), not asserted here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCommandServices } from '../../src/app-services.ts';
import { renderUserMessage } from '../../src/core/errors.ts';
import { parseJobRequest } from '../../src/queue/job-contract.ts';
import { type LoadOutcome, loadPlan, runLoad } from '../helpers/command-load.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const USERS = 200;
const REQUESTS = 1000;
const MAX_PENDING = 3;

describe('load: 1,000 requests from 200 users through the command layer', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let outcomes: LoadOutcome[];

  before(async () => {
    // Only the per-user quota may refuse: the queue cap, the rate limits and the hourly quota are out of reach.
    t = testConfig({
      QUOTA_MAX_PENDING_PER_USER: String(MAX_PENDING),
      QUOTA_MAX_JOBS_PER_HOUR: '1000',
      QUEUE_MAX_WAITING: '100000',
      RATE_LIMIT_PER_USER_PER_MINUTE: '1000',
      RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
    outcomes = await runLoad(services, loadPlan(USERS, REQUESTS));
  });
  after(async () => {
    await services.close();
    await t.cleanup();
  });

  const accepted = () => outcomes.filter((o) => o.replies[0]?.kind === 'accepted');
  const refused = () => outcomes.filter((o) => o.replies[0]?.kind !== 'accepted');

  test('every request gets exactly one answer', () => {
    assert.equal(outcomes.length, REQUESTS);
    for (const o of outcomes) assert.equal(o.replies.length, 1, `request ${o.index}: ${JSON.stringify(o.replies)}`);
  });

  test('every accepted request is exactly one job in the queue, carrying that request', async () => {
    const ids = accepted().map((o) => o.jobId);
    assert.ok(ids.every((id) => typeof id === 'string'), 'every acceptance names its job');
    assert.equal(new Set(ids).size, ids.length, 'no job id is given out twice');

    const jobs = await services.queue.primary.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    assert.equal(jobs.length, ids.length, 'as many jobs as acceptances');
    assert.equal(await services.queue.waitingCount(), ids.length);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    assert.equal(byId.size, jobs.length, 'no job appears twice');
    for (const o of accepted()) {
      const job = byId.get(o.jobId!);
      assert.ok(job, `job ${o.jobId} of request ${o.index} is in the queue`);
      const data = parseJobRequest(job.data);
      assert.equal(data.requestId, o.jobId);
      assert.equal(`${data.user.platform}:${data.user.id}`, o.userKey);
      assert.equal(data.seed, o.index, 'the job is this request, not another user\'s');
      assert.equal(data.prompt, `a lighthouse in a storm, take ${o.index}`);
    }
  });

  test('every refusal is the quota refusal, in the words a user reads', () => {
    const expected = renderUserMessage('quota_pending', { count: MAX_PENDING, max: MAX_PENDING });
    for (const o of refused()) {
      assert.equal(o.replies[0]!.kind, 'error');
      assert.equal(o.replies[0]!.private, true);
      assert.equal(o.replies[0]!.text, expected, `request ${o.index}`);
    }
  });

  test('no user gets more than the quota; each gets exactly the quota; Redis holds one pending slot per job', async () => {
    const perUser = new Map<string, number>();
    for (const o of accepted()) perUser.set(o.userKey, (perUser.get(o.userKey) ?? 0) + 1);
    assert.equal(perUser.size, USERS);
    for (const [user, count] of perUser) assert.equal(count, MAX_PENDING, user);
    assert.equal(accepted().length, USERS * MAX_PENDING);
    assert.equal(refused().length, REQUESTS - USERS * MAX_PENDING);

    // Refusals leave nothing behind: the pending slots are exactly the accepted jobs.
    for (const [user] of perUser) {
      const pending = await services.quota.pendingJobs(user);
      const mine = accepted().filter((o) => o.userKey === user).map((o) => o.jobId!);
      assert.deepEqual([...pending].sort(), [...mine].sort(), user);
    }
  });
});
