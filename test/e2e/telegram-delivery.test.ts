// Telegram end to end: the real bot and a real worker (tiny engine, real Redis) posting through the fake Bot API.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { type Job, QueueEvents, UnrecoverableError } from 'bullmq';
import { formatStats } from '../../src/core/stats.ts';
import { metricsRegistry } from '../../src/ops/metrics.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { TelegramDelivery } from '../../src/platforms/telegram/telegram-delivery.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { type StoredMessage, type TgMessage, tooManyRequests } from '../fakes/telegram/fake-telegram-server.ts';
import { probeVideo } from '../helpers/ffprobe.ts';
import { type StageHolds, stageHolds } from '../helpers/stage-holds.ts';
import { statusEvents } from '../helpers/status-events.ts';
import { ALICE, BOB, GROUP_ID, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

describe('telegram: /gen to a video in the chat, with the real worker and tiny engine', () => {
  let h: TelegramHarness;
  let worker: RunningWorker;
  let events: QueueEvents;
  let holds: StageHolds;
  let firstVideo: { job: Job<JobRequest, JobResult>; result: JobResult; message: StoredMessage } | undefined;

  before(async () => {
    h = await telegramHarness();
    const delivery = new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, editIntervalMs: 50, workDir: h.t.tmp, retryBudgetMs: 20_000 });
    // The engine runs behind the stage-holds gate, so a test can stop it at its first step (deterministically).
    holds = stageHolds(join(h.t.tmp, 'holds'));
    worker = await startVideoWorker({ ...h.t.config, ENGINE_PYTHON: holds.env.ENGINE_PYTHON! }, { deliveries: [delivery] });
    events = new OwnedQueueEvents(h.t.config.QUEUE_NAME, h.t.config.REDIS_URL);
    await events.waitUntilReady();
    await h.startBot();
  });
  // A failed test must not leave the next one's job held at its first step.
  afterEach(() => holds?.releaseAll());
  after(async () => {
    holds?.releaseAll();
    await h.bot?.stop();
    await events.close();
    await worker.close();
    await h.close();
  });

  const videoFor = (request: TgMessage, n = 1) =>
    h.server.waitForMessage((m) => m === videosFor(request)[n - 1], 60_000);
  const videosFor = (request: TgMessage) => h.server.botMessages(request.chat.id).filter((m) => m.file !== undefined && m.message.reply_to_message?.message_id === request.message_id);
  // The fake stores a message before it logs the call that sent it: wait for the log.
  const uploadOf = (message: StoredMessage, method = 'sendVideo') =>
    h.server.waitForCall(method, (c) => c.response.ok && (c.response.result as TgMessage).message_id === message.messageId && Number(c.params.chat_id) === message.chatId);
  async function finishedJob(filter: (j: JobRequest) => boolean): Promise<{ job: Job<JobRequest, JobResult>; result: JobResult }> {
    const jobs = await h.services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed']);
    const job = jobs.find((j) => filter(j.data)) as Job<JobRequest, JobResult> | undefined;
    assert.ok(job, 'job found');
    return { job, result: jobResultSchema.parse(await job.waitUntilFinished(events, 60_000)) };
  }
  const deliveryRetries = async () => {
    const metric = (await metricsRegistry.getSingleMetric('cogcast_delivery_retries_total')?.get())?.values.find((v) => v.labels.platform === 'telegram');
    return metric?.value ?? 0;
  };
  const firstIndex = (texts: string[], pattern: RegExp) => texts.findIndex((t) => pattern.test(t));
  /** The next job stops at its first step, once the worker heard of it, until resume(). */
  const pauseEngineAtFirstStep = () => {
    holds.hold('generate');
    return { paused: holds.reached('generate', 60_000), resume: () => holds.release('generate') };
  };

  test('/gen: the status goes queued -> generating i/n -> encoding -> done, and an MP4 with the stats replies to the request', async () => {
    // The tiny engine's 2 steps take a few ms and the decode after them is a stage of its own: the engine is paused
    // (SIGSTOP) at its first relayed step until the status message shows it, then resumed.
    // The queue is paused until the queued state is on screen: a warm worker would take the job before the bot's
    // queued event is published, and the message would (rightly) go from "Queuing" straight to "Starting".
    await h.services.queue.primary.queue.pause();
    const engine = pauseEngineAtFirstStep();
    const request = h.say(ALICE, '/gen <b>fox</b> & *stars*\u200b  in the snow | preset=tiny seed=42');
    const status = await h.answerTo(request);
    await h.waitForText(status, /^⏳ Queued: #1 in line/).finally(() => h.services.queue.primary.queue.resume());
    await engine.paused;
    await h.waitForText(status, /^🎨 Generating/).finally(engine.resume);
    const video = await videoFor(request);
    const { job, result } = await finishedJob((j) => j.seed === 42 && j.user.id === String(ALICE.id));
    firstVideo = { job, result, message: video };
    assert.equal(job.data.prompt, '<b>fox</b> & *stars* in the snow', 'zero-width and doubled spaces cleaned');

    // The upload: multipart, streaming, an MP4 ffprobe reads with the preset's shape.
    const upload = await uploadOf(video);
    assert.equal(upload.files.length, 1);
    assert.equal(upload.params.supports_streaming, 'true');
    const copy = join(h.t.tmp, 'received.mp4');
    writeFileSync(copy, upload.files[0]!.bytes);
    assert.deepEqual(await probeVideo(copy), { codec: 'h264', width: 64, height: 32, pixFmt: 'yuv420p', frames: 9, fps: 8 });
    assert.equal(video.message.video?.mime_type, 'video/mp4');

    // The caption: the prompt shown literally (markup escaped), then the stats as the worker measured them; the
    // upload time joins them once the upload was timed (editMessageCaption), with the Regenerate button kept.
    assert.doesNotMatch(String(upload.params.caption), /upload/, 'the caption sent with the clip cannot know its upload time');
    const captionEdit = video.edits.find((e) => e.method === 'editMessageCaption');
    assert.ok(captionEdit, `the caption was edited after the upload: ${video.edits.map((e) => e.method).join(', ')}`);
    const lines = (video.caption ?? '').split('\n');
    assert.equal(lines[0], '<b>fox</b> & *stars* in the snow');
    assert.deepEqual(video.message.caption_entities, [{ type: 'italic', offset: 0, length: lines[0]!.length }]);
    assert.match(lines[3] ?? '', /^VAE [\d.]+ s · MP4 [\d.]+ s · upload [\d.]+ s$/);
    const expected = formatStats(result.stats).split('\n');
    assert.equal(lines.length, expected.length + 1);
    for (const [i, line] of expected.entries()) {
      if (line.startsWith('end to end')) assert.match(lines[i + 1]!, /^end to end \d+\.\d+ s$/);
      else assert.equal(lines[i + 1], line);
    }
    assert.match(lines[1]!, /^tiny · 64x32 · 9 frames @ 8 fps · 2 steps · seed 42$/);
    assert.deepEqual(video.replyMarkup, { inline_keyboard: [[{ text: '🔁 Regenerate', callback_data: `reroll:${job.id}` }]] });
    assert.deepEqual(result.receipt, { fileId: video.message.video!.file_id, messageId: video.messageId, chatId: ALICE.id, kind: 'video' });

    // The status message told the story, and ended without a Cancel button.
    await h.waitForText(status, /^✅ Done in \d+(\.\d)? s: the video is below\.\ntiny · seed 42$/);
    const shown = h.shown(status);
    const queued = firstIndex(shown, /^⏳ Queued: #1 in line, ready in about/);
    const generating = firstIndex(shown, /^🎨 Generating\n[▓░]{12} step [12]\/2\ntiny · seed 42$/);
    const encoding = firstIndex(shown, /^🎞 Encoding the MP4…/);
    const done = firstIndex(shown, /^✅ Done/);
    assert.ok(queued >= 0 && generating > 0 && encoding > generating && done === shown.length - 1, JSON.stringify(shown));
    assert.equal(status.replyMarkup, undefined);
    assert.equal(videosFor(request).length, 1);
  });

  test('the same prompt and seed again: the stored clip is re-sent by file_id, no new upload', async () => {
    assert.ok(firstVideo, 'needs the first test');
    const request = h.say(ALICE, '/gen <b>fox</b> & *stars* in the snow | preset=tiny seed=42');
    const video = await videoFor(request);
    const upload = await uploadOf(video);
    assert.equal(upload.files.length, 0, 'nothing uploaded');
    assert.equal(upload.params.video, firstVideo.message.message.video!.file_id);
    assert.equal(video.message.video?.file_unique_id, firstVideo.message.message.video!.file_unique_id);
    assert.match(video.caption ?? '', /reused a stored result/);
    const { result } = await finishedJob((j) => j.seed === 42 && j.requestId !== firstVideo!.job.id);
    assert.equal(result.stats.cached, true);
  });

  test('in a group: /gen@fakebot gets its video there, and Regenerate makes a new take with a new seed', async () => {
    const request = h.say(ALICE, '/gen@fakebot a lighthouse in a storm | seed=5', true);
    const video = await videoFor(request);
    assert.equal(video.chatId, GROUP_ID);
    const { job } = await finishedJob((j) => j.seed === 5);

    const press = h.server.pressButton({ chatId: GROUP_ID, messageId: video.messageId, from: BOB, text: '🔁 Regenerate' });
    const second = await videoFor(request, 2);
    assert.equal((await uploadOf(second)).files.length, 1, 'a new clip, uploaded');
    const { job: reroll } = await finishedJob((j) => j.rerollOf === job.id);
    assert.equal(reroll.data.prompt, 'a lighthouse in a storm');
    assert.notEqual(reroll.data.seed, 5);
    assert.equal(reroll.data.user.id, String(BOB.id), 'the presser asked for it');
    const status = h.server.message(GROUP_ID, (reroll.data.delivery.target as { statusMessageId: number }).statusMessageId)!;
    assert.equal(status.message.reply_to_message?.message_id, request.message_id, 'the new status quotes the original request');
    assert.match(status.text ?? '', /^✅ Done/);
    assert.match(h.server.callbackAnswer(press.id)?.text ?? '', /^Queued: #\d+ in line/);
  });

  test('cancel: a video queued behind a busy worker, then one that is generating; neither is posted', async () => {
    // The tiny engine finishes 12 steps in well under a second: it is paused (SIGSTOP) at its first step so
    // that the job is surely still generating when the button is pressed, and resumed once it was pressed.
    const engine = pauseEngineAtFirstStep();
    const slow = h.say(ALICE, '/gen a slow sunrise over hills | preset=tiny-slow seed=8');
    const slowStatus = await h.answerTo(slow);
    await engine.paused;
    await h.waitForText(slowStatus, /^🎨 Generating/);

    const quick = h.say(BOB, '/gen a quick sunset | seed=9');
    const quickStatus = await h.answerTo(quick);
    await h.waitForText(quickStatus, /^⏳ Queued: #\d+ in line/);
    const bobJob = (await h.jobs()).find((j) => j.seed === 9)!;
    assert.equal((await h.answerTo(h.say(BOB, '/cancel'))).text, 'Cancelled.');
    await h.waitForText(quickStatus, /^🚫 Cancelled\.$/);
    assert.equal(await h.services.queue.primary.queue.getJob(bobJob.requestId), undefined);

    const slowJob = (await h.jobs()).find((j) => j.seed === 8)!;
    assert.equal(await h.services.queue.primary.queue.getJobState(slowJob.requestId), 'active', 'still generating when cancelled');
    const press = h.server.pressButton({ chatId: ALICE.id, messageId: slowStatus.messageId, from: ALICE, data: `cancel:${slowJob.requestId}` });
    await h.server.waitForCall('answerCallbackQuery', (c) => String(c.params.callback_query_id) === press.id);
    engine.resume();
    await h.waitForText(slowStatus, /^🚫 Cancelled\.$/, 20_000);
    const job = (await h.services.queue.primary.queue.getJob(slowJob.requestId))!;
    await assert.rejects(job.waitUntilFinished(events, 30_000), /cancel/);
    assert.equal((await h.services.queue.primary.queue.getJob(slowJob.requestId))?.attemptsMade, 1, 'not retried');
    assert.equal(videosFor(slow).length + videosFor(quick).length, 0, 'no video posted');
    assert.equal(slowStatus.text, '🚫 Cancelled.', 'the final state stays');
    assert.deepEqual(await h.services.quota.pendingJobs(`telegram:${ALICE.id}`), []);
    assert.deepEqual(await h.services.quota.pendingJobs(`telegram:${BOB.id}`), []);
  });

  test('429 on editMessageText and on sendVideo: retry_after is honoured and the video still arrives, once', async () => {
    const request = h.say(BOB, '/gen a windmill at dusk | preset=tiny-slow seed=11');
    const status = await h.answerTo(request);
    await h.server.waitForCall('editMessageText', (c) => c.status === 200 && Number(c.params.chat_id) === BOB.id && String(c.params.text).startsWith('⏳ Queued'));
    const from = h.server.calls.length;
    const retriesBefore = await deliveryRetries();
    h.server.failNext('editMessageText', tooManyRequests(1), 2);
    h.server.failNext('sendVideo', tooManyRequests(1), 1);

    const video = await videoFor(request);
    await h.waitForText(status, /^✅ Done/, 20_000);
    const later = h.server.calls.slice(from).filter((c) => Number(c.params.chat_id) === BOB.id);
    const edits = later.filter((c) => c.method === 'editMessageText');
    assert.deepEqual(edits.slice(0, 2).map((c) => c.status), [429, 429]);
    // The bot (queue position) and the worker (progress) edit through their own clients: each must hold back
    // after a 429, so no edit succeeds in this chat until retry_after has passed since every earlier 429.
    const refusedAt = edits.filter((c) => c.status === 429).map((c) => c.at);
    for (const ok of edits.filter((c) => c.status === 200)) {
      for (const at of refusedAt.filter((t) => t < ok.at)) assert.ok(ok.at - at >= 950, `an edit landed ${ok.at - at} ms after a 429 with retry_after 1`);
    }
    const sends = later.filter((c) => c.method === 'sendVideo');
    assert.deepEqual(sends.map((c) => c.status), [429, 200]);
    assert.ok(sends[1]!.at - sends[0]!.at >= 950, 'sendVideo waited for retry_after');
    assert.equal((await deliveryRetries()) - retriesBefore, 1, 'the retried sendVideo counted in cogcast_delivery_retries_total');
    assert.equal(videosFor(request).length, 1, 'posted exactly once');
    assert.equal((await uploadOf(video)).files.length, 1);
  });

  test('a clip over the upload limit is re-encoded to fit; a refused video goes as a file; too big is a clear failure', async () => {
    assert.ok(firstVideo, 'needs the first test');
    // A real-looking 3 s clip (the tiny engine's noise barely compresses, so it says little about re-encoding).
    const path = join(h.t.tmp, 'big.mp4');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=8', '-t', '3', '-c:v', 'libx264', '-crf', '8', '-pix_fmt', 'yuv420p', '-y', path]);
    const bytes = statSync(path).size;
    const clip = { path, bytes, width: 320, height: 240, durationS: 3, stats: firstVideo.result.stats };
    const limit = Math.floor(bytes * 0.5);
    const outbound = new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, uploadLimitBytes: limit, workDir: h.t.tmp, editIntervalMs: 50 });
    const small = statusEvents(outbound, h.t.config.REDIS_URL, h.t.config.QUEUE_NAME);
    // As the worker does: the clip, then the done event (with the receipt's note) for the status message.
    const deliverAndFinish = async (request: JobRequest, video: typeof clip) => {
      const receipt = await small.deliver(request, request.requestId, video);
      await small.publish(request, request.requestId, { stage: 'done', endToEndS: 1, ...(typeof receipt.note === 'string' ? { note: receipt.note } : {}) });
      return receipt;
    };
    const target = async () => {
      const sent = await outbound.telegram.sendMessage(ALICE.id, '📤 Uploading…');
      const requestId = randomUUID();
      const request = { ...firstVideo!.job.data, requestId, delivery: { platform: 'telegram' as const, target: { chatId: ALICE.id, statusMessageId: sent.message_id } } };
      return { request, statusId: sent.message_id };
    };

    const fit = await target();
    const receipt = await deliverAndFinish(fit.request, clip);
    const posted = h.server.message(ALICE.id, Number(receipt.messageId))!;
    const upload = await uploadOf(posted);
    assert.ok(upload.files[0]!.bytes.length <= limit, `${upload.files[0]!.bytes.length} > ${limit}`);
    const copy = join(h.t.tmp, 'shrunk.mp4');
    writeFileSync(copy, upload.files[0]!.bytes);
    assert.deepEqual(await probeVideo(copy), { codec: 'h264', width: 320, height: 240, pixFmt: 'yuv420p', frames: 24, fps: 8 });
    assert.match(posted.caption ?? '', /Re-encoded from \d+ KB to \d+ KB to fit Telegram's \d+ KB upload limit\./);
    assert.match(h.server.message(ALICE.id, fit.statusId)!.text ?? '', /^✅ Done[^]*Re-encoded from/);

    const refused = await target();
    h.server.failNext('sendVideo', { error_code: 400, description: 'Bad Request: VIDEO_CONTENT_TYPE_INVALID' });
    const asFile = await deliverAndFinish(refused.request, clip);
    assert.equal(asFile.kind, 'document');
    const doc = h.server.message(ALICE.id, Number(asFile.messageId))!;
    assert.equal(doc.message.document?.mime_type, 'video/mp4');
    assert.match(doc.caption ?? '', /Sent as a file: Telegram did not accept it as a playable video\./);
    assert.match(h.server.message(ALICE.id, refused.statusId)!.text ?? '', /Sent as a file/);

    const tiny = new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, uploadLimitBytes: 1024, workDir: h.t.tmp });
    const tooBig = await target();
    const uploadsBefore = h.server.callsTo('sendVideo').length;
    await assert.rejects(tiny.deliver(tooBig.request, tooBig.request.requestId, clip), (err: unknown) => {
      assert.ok(err instanceof UnrecoverableError);
      assert.match(err.message, /^the clip \(\d+ KB\) is over Telegram's 1 KB upload limit, even re-encoded \(\d+ KB\)$/);
      return true;
    });
    assert.equal(h.server.callsTo('sendVideo').length, uploadsBefore, 'nothing was sent');
    await small.close();
  });
});
