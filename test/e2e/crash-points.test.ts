// A worker process SIGKILLed at each point of a job's life: while queued, generating, encoding, uploading, and
// after the platform took the upload but before the worker recorded it. Each time another worker process takes the
// job over and the clip is posted: exactly once on Discord (the retry reads Discord back), at least once on Telegram
// (no read API: a re-send is marked "Sent again"); no job fails, nothing is left in WORK_DIR.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { text } from '../../src/core/texts.ts';

const RESENT_NOTE = text('delivery.sent_again');
import { type ChatWorkerHarness as Harness, ChatWorkerHarness, assertNothingLeftIn, isDiscordUpload, isTelegramUpload } from '../helpers/chat-worker-harness.ts';

// Liveness only: a stuck hold fails the test instead of hanging the suite (worker start-up is slow on a loaded host).
const LIMIT = { timeout: 300_000 };

describe('a worker killed at any point of a job', () => {
  let h: Harness;

  before(async () => {
    h = await ChatWorkerHarness.start({ QUOTA_MAX_PENDING_PER_USER: '10' });
    // One worker for the first test (a job must wait behind a busy worker); two from then on, so a successor is
    // warm when the job's worker is killed.
    h.spawnWorker();
  });
  // A failed test must not leave the next one's job stuck behind a hold.
  afterEach(() => h?.holds.releaseAll());
  after(() => h?.close());

  /** SIGKILLs the worker process running `job` and starts a new one; another live worker takes the job over. */
  async function crash(job: Job): Promise<void> {
    await h.kill(await h.holderOf(job));
    h.spawnWorker();
  }

  async function assertCompletedWithoutFailures(job: Job): Promise<void> {
    const done = await h.finished(job);
    assert.equal(await done.getState(), 'completed', `job ${job.id} completed (${done.failedReason ?? ''})`);
    assert.deepEqual(done.stacktrace ?? [], [], 'no attempt failed: the crash cost no attempt');
    assert.equal(await h.queue.primary.queue.getFailedCount(), 0, 'no job failed');
  }

  test('while queued: the waiting job is not lost and is posted once when a worker is back', LIMIT, async () => {
    h.holds.hold('generate');
    const running = await h.discordVideo('a lighthouse in a storm', 'tiny-slow');
    await h.holds.reached('generate');
    const queued = await h.telegramVideo('a paper boat on a pond');
    assert.equal(await queued.job.getState(), 'waiting');
    await crash(running.job);
    // The successor's spare, starting beside it, is warm for the next test.
    h.spawnWorker();
    h.holds.release('generate');
    await assertCompletedWithoutFailures(running.job);
    await assertCompletedWithoutFailures(queued.job);
    assert.equal(h.discordUploads(running.job), 1);
    const videos = h.telegramVideos(queued);
    assert.equal(videos.length, 1, 'the queued clip posted once');
    assert.ok(!videos[0]!.caption?.includes(RESENT_NOTE), 'nothing was posted before: no re-send note');
    assertNothingLeftIn(h.config.WORK_DIR);
  });

  test('while generating: another worker generates it again and posts it once', LIMIT, async () => {
    h.holds.hold('generate');
    const video = await h.discordVideo('a fox crossing a frozen river', 'tiny-slow');
    await h.holds.reached('generate');
    await crash(video.job);
    h.holds.release('generate');
    await assertCompletedWithoutFailures(video.job);
    assert.equal(h.discordUploads(video.job), 1, 'exactly one upload reached Discord');
    assert.equal(h.discordClipMessages(video.job).length, 1);
    assert.match(h.discord.interaction(video.interactionId)?.original?.content ?? '', /Done/);
    assertNothingLeftIn(h.config.WORK_DIR);
  });

  test('while encoding: the half-made job is redone by another worker and posted once', LIMIT, async () => {
    h.holds.hold('encode');
    const video = await h.telegramVideo('a hot air balloon over hills');
    await h.holds.reached('encode');
    await crash(video.job);
    h.holds.release('encode');
    await assertCompletedWithoutFailures(video.job);
    const videos = h.telegramVideos(video);
    assert.equal(videos.length, 1);
    assert.ok(!videos[0]!.caption?.includes(RESENT_NOTE), 'no upload had begun: no re-send note');
    assertNothingLeftIn(h.config.WORK_DIR);
  });

  test('Discord, while uploading: the upload never arrived, so the next worker posts the stored clip, once', LIMIT, async () => {
    const upload = h.discordProxy.hold(isDiscordUpload, 'before-server');
    const video = await h.discordVideo('a kite in the wind');
    await upload.reached;
    await crash(video.job);
    upload.drop();
    await assertCompletedWithoutFailures(video.job);
    assert.equal(h.discordUploads(video.job), 1, 'exactly one upload reached Discord');
    const [posted] = h.discordClipMessages(video.job);
    assert.equal(posted?.id, h.discord.interaction(video.interactionId)?.original?.id, 'on the status message');
    assert.ok(!posted?.content.includes(RESENT_NOTE), 'Discord was read back: no re-send note');
    assertNothingLeftIn(h.config.WORK_DIR);
  });

  test('Discord, after Discord took the upload but before the worker recorded it: read back, not posted again', LIMIT, async () => {
    const upload = h.discordProxy.hold(isDiscordUpload, 'after-server');
    const video = await h.discordVideo('a lantern on a lake');
    await upload.reached;
    assert.equal(h.discordUploads(video.job), 1, 'Discord has the clip');
    await crash(video.job);
    upload.drop();
    await assertCompletedWithoutFailures(video.job);
    assert.equal(h.discordUploads(video.job), 1, 'the retry found the clip and did not upload it again');
    assert.equal(h.discordClipMessages(video.job).length, 1);
    const result = (await h.queue.primary.queue.getJob(video.job.id!))?.returnvalue;
    assert.equal(result?.receipt.foundPosted, true, 'the result names the message found');
    assert.equal(result?.receipt.messageId, h.discordClipMessages(video.job)[0]?.id);
    assertNothingLeftIn(h.config.WORK_DIR);
  });

  test('Telegram, while uploading: posted by the next worker, marked as a possible re-send', LIMIT, async () => {
    const upload = h.telegramProxy.hold(isTelegramUpload, 'before-server');
    const video = await h.telegramVideo('a snail on a leaf');
    await upload.reached;
    await crash(video.job);
    upload.drop();
    await assertCompletedWithoutFailures(video.job);
    const videos = h.telegramVideos(video);
    assert.equal(videos.length, 1, 'the dead worker\'s upload never arrived: one video');
    assert.ok(videos[0]!.caption?.includes(RESENT_NOTE), `the re-send is marked: ${videos[0]!.caption}`);
    assertNothingLeftIn(h.config.WORK_DIR);
  });

  test('Telegram, after Telegram took the upload but before the worker recorded it: sent again, marked', LIMIT, async () => {
    const upload = h.telegramProxy.hold(isTelegramUpload, 'after-server');
    const video = await h.telegramVideo('a whale under the ice');
    await upload.reached;
    assert.equal(h.telegramVideos(video).length, 1, 'Telegram has the clip');
    await crash(video.job);
    upload.drop();
    await assertCompletedWithoutFailures(video.job);
    const videos = h.telegramVideos(video);
    assert.equal(videos.length, 2, 'at least once: the Bot API cannot be asked, so the clip is sent again');
    assert.ok(!videos[0]!.caption?.includes(RESENT_NOTE));
    assert.ok(videos[1]!.caption?.includes(RESENT_NOTE), `the second is marked: ${videos[1]!.caption}`);
    assertNothingLeftIn(h.config.WORK_DIR);
  });
});
