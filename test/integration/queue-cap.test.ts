// The waiting-queue cap holds under a rush: counted and added atomically, so simultaneous users cannot all slip
// past the count (check-then-add let 60 simultaneous users past a cap of 5).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { text } from '../../src/core/texts.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

let t: TestConfig;
let services: ReturnType<typeof createCommandServices>;

before(async () => {
  t = testConfig({ QUEUE_MAX_WAITING: '5', QUOTA_MAX_PENDING_PER_USER: '2', RATE_LIMIT_GLOBAL_PER_MINUTE: '10000' });
  services = createCommandServices(t.config);
  await services.queue.queue.waitUntilReady();
});
after(async () => {
  await services.close();
  await t.cleanup();
});

test('60 simultaneous users against a cap of 5 leave at most 5 waiting, and the others are told the queue is full', async () => {
  const contexts = Array.from({ length: 60 }, (_, i) => recordingContext({ id: `rush-${i}` }));
  await Promise.all(contexts.map((ctx, i) => dispatch(commands.video, ctx, { prompt: `a rush of foxes ${i}` }, services)));
  const waiting = await services.queue.queue.getWaitingCount();
  const accepted = contexts.filter((c) => c.replies[0]?.kind === 'accepted').length;
  const full = contexts.filter((c) => c.replies[0]?.kind === 'error' && c.replies[0].text.startsWith(text('queue_full', { waiting: 5 }).slice(0, 14))).length;
  assert.equal(waiting, 5, 'exactly the cap waits');
  assert.equal(accepted, 5, 'one accepted answer per waiting job');
  assert.equal(accepted + full, 60, `every other user is told the queue is full: ${JSON.stringify(contexts.map((c) => c.replies[0]?.text).slice(0, 8))}`);
});
