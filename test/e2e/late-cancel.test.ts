// Cancel pressed late, on both platforms, with a real worker process: during the decode (the engine has not
// returned yet), during the MP4 encode, and once the upload has begun. What the user is told matches what happens:
// "Cancelled" means no clip, no files left and the pending slot back; "too late" means the clip arrives and the
// status message never says Cancelled.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { text } from '../../src/core/texts.ts';
import { ChatWorkerHarness, DISCORD_ALICE, assertNothingLeftIn, eventually, isTelegramUpload } from '../helpers/chat-worker-harness.ts';
import type { ProxiedRequest } from '../helpers/holding-proxy.ts';
import type { HeldStage } from '../helpers/stage-holds.ts';
import { ALICE } from '../helpers/telegram-harness.ts';

const LIMIT = { timeout: 240_000 };
const DISCORD_ADMIN = { id: '42', username: 'admin' }; // an admin through ADMIN_IDS (discord:42)
const TOO_LATE = text('cancel_too_late');

describe('Cancel pressed late', () => {
  let h: ChatWorkerHarness;

  before(async () => {
    h = await ChatWorkerHarness.start({ QUOTA_MAX_PENDING_PER_USER: '10' });
    h.spawnWorker();
  });
  // A failed test must not leave the next one's job stuck behind a hold.
  afterEach(() => h?.holds.releaseAll());
  after(() => h?.close());

  const storedClips = () => {
    const dir = join(h.config.OUTPUT_DIR, 'results');
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  async function assertCancelledForGood(job: Job, owner: string, clipsBefore: string[]): Promise<void> {
    const done = await h.finished(job);
    assert.equal(await done.getState(), 'failed');
    assert.match(done.failedReason ?? '', /cancelled/);
    assert.deepEqual(await h.tg.services.quota.pendingJobs(owner), [], 'the pending slot is back with its owner');
    assertNothingLeftIn(h.config.WORK_DIR);
    assert.deepEqual(storedClips(), clipsBefore, 'the cancelled clip is not kept');
  }

  /** Presses Cancel on the Discord status message of `token`'s job and waits for the bot's answer on it. */
  async function pressDiscordCancel(interactionId: string, jobId: string, user: { id: string; username: string } = DISCORD_ALICE) {
    // The status message gets its Cancel button from the queued event (the outbound writer, at its pace): press it once it is there.
    const customId = `cancel:${jobId}`;
    const status = await h.discord.waitFor(() => {
      const original = h.discord.interaction(interactionId)?.original;
      const buttons = JSON.stringify(original?.components ?? []);
      return buttons.includes(JSON.stringify(customId)) ? original : undefined;
    }, 20_000);
    assert.ok(status, 'the job has a status message');
    const press = await h.discord.pressButton({ user, roles: [h.discord.roleId('Member')], messageId: status.id, customId });
    await h.discord.waitFor(() => h.discord.interaction(press.id)?.acknowledged, 10_000);
    return { status, press };
  }

  // What the status message shows last before the held stage: Cancel is pressed once it is up, so that whatever
  // the message shows after the press comes from the cancel, not from progress still on its way.
  const lastShown: Record<'decode' | 'encode', RegExp> = { decode: /Decoding/, encode: /Encoding/ };

  for (const stage of ['decode', 'encode'] as const satisfies HeldStage[]) {
    test(`Discord, Cancel during the ${stage}: told Cancelled, and nothing is posted`, LIMIT, async () => {
      const clipsBefore = storedClips();
      h.holds.hold(stage);
      const video = await h.discordVideo(`a fox in the ${stage}`);
      await h.holds.reached(stage);
      await h.discord.waitFor(() => lastShown[stage].test(h.discord.interaction(video.interactionId)?.original?.content ?? ''), 20_000);
      const { status, press } = await pressDiscordCancel(video.interactionId, video.job.id!);
      const answer = await h.discord.waitFor(() => h.discord.interaction(press.id)?.followUps[0], 10_000);
      assert.equal(answer.content, text('cancel.done_one'), 'told Cancelled (privately)');
      h.holds.release(stage);
      await assertCancelledForGood(video.job, `discord:${DISCORD_ALICE.id}`, clipsBefore);
      // The worker stopped the job and says so on the status message.
      const final = await h.discord.waitFor(() => h.discord.message(status.id)?.content.includes(text('cancelled')) && h.discord.message(status.id), 20_000);
      const history = h.discord.messageHistory(status.id).map((m) => m.content);
      const flipped = history.findIndex((c) => c.includes(text('cancelled')));
      assert.deepEqual(history.slice(flipped).filter((c) => !c.includes(text('cancelled'))), [], `once Cancelled, the message shows nothing else: ${history.join(' | ')}`);
      assert.deepEqual(final.attachments, [], 'no clip on the status message');
      assert.deepEqual(h.discordClipMessages(video.job), [], 'no clip anywhere in the channel');
      assert.equal(h.discordUploads(video.job), 0);
    });

    test(`Telegram, Cancel during the ${stage}: told Cancelled, and nothing is posted`, LIMIT, async () => {
      const clipsBefore = storedClips();
      h.holds.hold(stage);
      const video = await h.telegramVideo(`a heron in the ${stage}`);
      await h.holds.reached(stage);
      await h.tg.waitForText(video.status, lastShown[stage], 20_000);
      await eventually(async () => h.tg.server.message(video.status.chatId, video.status.messageId)?.replyMarkup?.inline_keyboard.flat().some((b) => b.text === 'Cancel'), 20_000, 'the Cancel button');
      const query = h.tg.server.pressButton({ chatId: video.status.chatId, messageId: video.status.messageId, from: ALICE, data: `cancel:${video.job.id}` });
      const answer = await eventually(async () => h.tg.server.callbackAnswer(query.id), 10_000, 'the button press answered');
      assert.equal(answer.text, text('cancel.done_one'), 'told Cancelled (the toast)');
      h.holds.release(stage);
      await assertCancelledForGood(video.job, `telegram:${ALICE.id}`, clipsBefore);
      // The worker stopped the job and says so on the status message (its one writer).
      await h.tg.waitForText(video.status, /Cancelled/, 20_000);
      assert.deepEqual(h.telegramVideos(video), [], 'no video posted');
      const shown = h.tg.shown(video.status);
      const flipped = shown.findIndex((c) => c.includes(text('cancelled')));
      assert.deepEqual(shown.slice(flipped).filter((c) => !c.includes(text('cancelled'))), [], `once Cancelled, the status shows nothing else: ${shown.join(' | ')}`);
    });
  }

  test('Discord, Cancel once the upload has begun: told it is too late, the clip is posted, the message never flips', LIMIT, async () => {
    // Posting has begun when the worker takes the Cancel button away: hold that edit, so the button is still there.
    h.holds.hold('encode');
    const video = await h.discordVideo('a kite over the dunes');
    await h.holds.reached('encode');
    // The message shows the encode (with its Cancel button) before posting begins: a writer behind its pace would
    // otherwise go from an earlier state straight to Uploading, and the message never had the button to press.
    await h.discord.waitFor(() => /Encoding/.test(h.discord.interaction(video.interactionId)?.original?.content ?? ''), 20_000);
    const buttonRemoval = h.discordProxy.hold(isButtonRemoval(video.token), 'before-server');
    h.holds.release('encode');
    await buttonRemoval.reached;
    const { status, press } = await pressDiscordCancel(video.interactionId, video.job.id!);
    const answer = await h.discord.waitFor(() => h.discord.interaction(press.id)?.followUps[0], 10_000);
    assert.equal(answer.content, TOO_LATE);
    assert.ok((answer.flags ?? 0) & (1 << 6), 'told privately');
    buttonRemoval.release();
    const done = await h.finished(video.job);
    assert.equal(await done.getState(), 'completed');
    assert.equal(h.discordUploads(video.job), 1, 'the clip was posted');
    const history = h.discord.messageHistory(status.id);
    assert.ok(history.every((m) => !m.content.includes(text('cancelled'))), `never flipped to Cancelled: ${history.map((m) => m.content).join(' | ')}`);
    assert.match(history.at(-1)?.content ?? '', /Done/);
    assert.deepEqual(await h.tg.services.quota.pendingJobs(`discord:${DISCORD_ALICE.id}`), []);
  });

  test('Telegram, /cancel once the upload has begun: told it is too late, the video arrives, the status never flips', LIMIT, async () => {
    const upload = h.telegramProxy.hold(isTelegramUpload, 'before-server');
    const video = await h.telegramVideo('a heron at dawn');
    await upload.reached;
    const cancel = h.tg.say(ALICE, '/cancel');
    const answer = await h.tg.answerTo(cancel, 10_000);
    assert.equal(answer.text, TOO_LATE);
    upload.release();
    const done = await h.finished(video.job);
    assert.equal(await done.getState(), 'completed');
    assert.equal(h.telegramVideos(video).length, 1, 'the video was posted');
    await h.tg.waitForText(video.status, /Done/, 20_000);
    assert.ok(h.tg.shown(video.status).every((t) => !t.includes(text('cancelled'))), `never flipped: ${h.tg.shown(video.status).join(' | ')}`);
  });

  test('an admin cancelling someone else\'s waiting and running jobs gives the slots back to their owner', LIMIT, async () => {
    h.holds.hold('generate');
    const running = await h.discordVideo('a running job', 'tiny-slow');
    await h.holds.reached('generate');
    const waiting = await h.discordVideo('a waiting job');
    const owner = `discord:${DISCORD_ALICE.id}`;
    assert.equal((await h.tg.services.quota.pendingJobs(owner)).length, 2);
    await pressDiscordCancel(waiting.interactionId, waiting.job.id!, DISCORD_ADMIN);
    await eventually(async () => (await h.tg.services.quota.pendingJobs(owner)).length === 1, 10_000, 'the waiting job\'s slot back');
    assert.equal(await h.queue.primary.queue.getJob(waiting.job.id!), undefined, 'the waiting job is gone');
    await pressDiscordCancel(running.interactionId, running.job.id!, DISCORD_ADMIN);
    h.holds.release('generate');
    const done = await h.finished(running.job);
    assert.equal(await done.getState(), 'failed');
    assert.deepEqual(await h.tg.services.quota.pendingJobs(owner), [], 'both slots back with Alice');
    assert.deepEqual(await h.tg.services.quota.pendingJobs(`discord:${DISCORD_ADMIN.id}`), [], 'nothing booked to the admin');
  });
});

/** The worker's status edit that takes the Cancel button away (no upload, empty components) as posting begins. */
const isButtonRemoval = (token: string) => (req: ProxiedRequest): boolean => {
  if (req.method !== 'PATCH' || !req.path.includes(token) || !req.contentType.startsWith('application/json')) return false;
  try {
    const body = JSON.parse(req.body.toString('utf8')) as { components?: unknown[]; content?: string };
    return Array.isArray(body.components) && body.components.length === 0 && /Uploading/.test(body.content ?? '');
  } catch {
    return false;
  }
};
