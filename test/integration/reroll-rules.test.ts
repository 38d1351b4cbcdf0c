// Reroll copies a prompt: only its owner may do that anywhere; others only in the chat where the video was made.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import type { DeliveryTarget } from '../../src/core/chat-context.ts';
import { dispatch } from '../../src/core/command.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const inChat = (chatId: number): DeliveryTarget => ({ platform: 'telegram', target: { chatId, statusMessageId: 1 } });

describe('reroll on real Redis', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  before(async () => {
    t = testConfig({ QUOTA_MAX_PENDING_PER_USER: '10', QUOTA_MAX_JOBS_PER_HOUR: '100' });
    services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
  });
  after(async () => {
    await services.close();
    await t.cleanup();
  });

  /** A context in chat `chatId`: deliveries go there, and sameChat compares with it. */
  const person = (id: string, chatId: number) => {
    const ctx = recordingContext({ id, platform: 'telegram', target: inChat(chatId) });
    return Object.assign(ctx, { sameChat: (target: DeliveryTarget) => target.platform === 'telegram' && target.target.chatId === chatId });
  };

  test('the owner anywhere, others in the same chat; a stranger elsewhere is refused and nothing is queued', async () => {
    const owner = person('alice', -100);
    await dispatch(commands.video, owner, { prompt: 'a secret garden' }, services);
    const jobId = owner.replies[0]!.jobId!;
    const count = () => services.queue.waitingCount();

    const stranger = person('mallory', 555);
    await dispatch(commands.reroll, stranger, { jobId }, services);
    assert.equal(stranger.replies[0]?.text, 'You can only reroll your own videos, or videos made in this chat.');
    assert.equal(await count(), 1);

    const neighbour = person('bob', -100);
    await dispatch(commands.reroll, neighbour, { jobId }, services);
    assert.equal(neighbour.replies[0]?.kind, 'accepted');
    const elsewhere = person('alice', 777);
    await dispatch(commands.reroll, elsewhere, { jobId }, services);
    assert.equal(elsewhere.replies[0]?.kind, 'accepted');
    assert.equal(await count(), 3);

    const forged = person('bob', -100);
    await dispatch(commands.reroll, forged, { jobId: 'not-a-job-id' }, services);
    assert.equal(forged.replies[0]?.text, 'That is not a video of this bot: the button or id is not valid.');
  });
});
