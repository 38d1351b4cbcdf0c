// The chat API answering 5xx or 429 while a real worker posts the video: retried with backoff (inside the delivery,
// then by the job), the video posted exactly once, and an idempotency record per job left in Redis that stops a
// re-run of the job from posting again. (discord-delivery and telegram-delivery cover 429 on the delivery alone.)
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import { commands } from '../../commands/index.ts';
import { dispatch } from '../../src/core/command.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { DiscordDelivery } from '../../src/platforms/discord/discord-delivery.ts';
import { TelegramDelivery } from '../../src/platforms/telegram/telegram-delivery.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import { type TgMessage, serverError, tooManyRequests } from '../fakes/telegram/fake-telegram-server.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { ALICE, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

const DISCORD_TOKEN = 'fake-discord-bot-token';
const CHANNEL_POST = 'POST /channels/:channel/messages';

describe('delivery when the chat API answers 5xx or 429', () => {
  let h: TelegramHarness;
  let discord: FakeDiscordServer;
  let worker: RunningWorker;
  let events: OwnedQueueEvents;

  before(async () => {
    h = await telegramHarness({ JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '300' });
    discord = new FakeDiscordServer({ token: DISCORD_TOKEN });
    const { api } = await discord.start();
    const telegram = new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, editIntervalMs: 50, workDir: h.t.tmp, retryBudgetMs: 2_500 });
    // Past the interaction token's life the video goes to the channel: a route only the upload uses, so a test can
    // fail exactly the upload (status edits would share the interaction's route).
    const lateDiscord = new DiscordDelivery({ token: DISCORD_TOKEN, apiBase: api, workDir: join(h.t.tmp, 'discord'), now: () => Date.now() + 16 * 60_000 });
    worker = await startVideoWorker(h.t.config, { deliveries: [telegram, lateDiscord] });
    events = new OwnedQueueEvents(h.t.config.QUEUE_NAME, h.t.config.REDIS_URL);
    await events.waitUntilReady();
    await h.startBot();
  });
  after(async () => {
    await h.bot?.stop();
    await events?.close();
    await worker?.close();
    await discord?.stop();
    await h.close();
  });

  const markerKey = (requestId: string) => h.services.queue.key('delivered', requestId);
  async function idempotencyRecord(requestId: string): Promise<JobResult> {
    const raw = await h.services.redis.get(markerKey(requestId));
    assert.ok(raw && !raw.startsWith('claim:'), `a confirmed delivery record for ${requestId}`);
    assert.ok((await h.services.redis.ttl(markerKey(requestId))) > 23 * 3600, 'kept for about a day');
    return jobResultSchema.parse(JSON.parse(raw));
  }
  async function finished(filter: (j: JobRequest) => boolean): Promise<{ job: Job<JobRequest, JobResult>; result: JobResult }> {
    let job: Job<JobRequest, JobResult> | undefined;
    for (let i = 0; i < 200 && !job; i++) {
      job = (await h.services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])).find((j) => filter(j.data)) as Job<JobRequest, JobResult> | undefined;
      if (!job) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(job, 'job found');
    const result = jobResultSchema.parse(await job.waitUntilFinished(events, 60_000));
    return { job: (await h.services.queue.primary.queue.getJob(job.id!)) as Job<JobRequest, JobResult>, result };
  }
  const videosFor = (request: TgMessage) => h.server.botMessages(request.chat.id).filter((m) => m.file !== undefined && m.message.reply_to_message?.message_id === request.message_id);
  const sendVideoCalls = (chatId: number, from: number) => h.server.calls.slice(from).filter((c) => c.method === 'sendVideo' && Number(c.params.chat_id) === chatId);

  /** A re-run of the same request (BullMQ hands a job out again after a stall) must not post a second time. */
  async function assertRerunPostsNothing(job: Job<JobRequest, JobResult>, posts: () => number): Promise<void> {
    const before = posts();
    // A job id must be its request id (a worker refuses any other): the finished job is removed and queued again.
    await job.remove();
    const again = await h.services.queue.primary.queue.add('video', job.data, { jobId: job.id! });
    const rerun = jobResultSchema.parse(await again.waitUntilFinished(events, 60_000));
    assert.equal(rerun.alreadyDelivered, true);
    assert.equal(posts(), before, 'nothing posted by the re-run');
  }

  test('Telegram 502 twice on sendVideo: retried with growing waits inside the delivery, posted once', async () => {
    const from = h.server.calls.length;
    h.server.failNext('sendVideo', serverError(502), 2);
    const request = h.say(ALICE, '/gen a windmill at dusk | seed=101');
    const { job, result } = await finished((j) => j.seed === 101);
    const sends = sendVideoCalls(ALICE.id, from);
    assert.deepEqual(sends.map((c) => c.status), [502, 502, 200]);
    const gaps = [sends[1]!.at - sends[0]!.at, sends[2]!.at - sends[1]!.at];
    assert.ok(gaps[0]! >= 450 && gaps[1]! >= 950, `exponential backoff between tries: ${gaps.join(', ')} ms`);
    assert.equal(job.attemptsMade, 1, 'the delivery absorbed the failures: the job ran once');
    assert.equal(videosFor(request).length, 1, 'posted exactly once');
    const record = await idempotencyRecord(job.id!);
    assert.equal(record.receipt.messageId, videosFor(request)[0]!.messageId);
    assert.deepEqual(record.receipt, result.receipt);
  });

  test('Telegram 503 past the delivery\'s retry budget: the job is retried after its backoff, and the video posted once', async () => {
    const from = h.server.calls.length;
    h.server.failNext('sendVideo', serverError(503, 'Service Unavailable'), 3);
    const request = h.say(ALICE, '/gen a lantern in the fog | seed=102');
    const { job, result } = await finished((j) => j.seed === 102);
    assert.deepEqual(sendVideoCalls(ALICE.id, from).map((c) => c.status), [503, 503, 503, 200]);
    assert.equal(job.attemptsMade, 2, 'one failed attempt, then the success');
    assert.match(job.stacktrace?.[0] ?? '', /503/);
    assert.equal(result.alreadyDelivered, false);
    assert.equal(videosFor(request).length, 1, 'posted exactly once');
    assert.equal((await idempotencyRecord(job.id!)).receipt.messageId, videosFor(request)[0]!.messageId);
    assert.deepEqual(readdirSync(h.t.config.WORK_DIR), [], 'the failed attempt left no temporary files');
    await assertRerunPostsNothing(job, () => videosFor(request).length);
  });

  test('Telegram 429 then 502 on sendVideo: retry_after honoured, then backoff, posted once', async () => {
    const from = h.server.calls.length;
    h.server.failNext('sendVideo', tooManyRequests(1), 1);
    h.server.failNext('sendVideo', serverError(502), 1);
    const request = h.say(ALICE, '/gen a heron at dawn | seed=103');
    const { job } = await finished((j) => j.seed === 103);
    const sends = sendVideoCalls(ALICE.id, from);
    assert.deepEqual(sends.map((c) => c.status), [429, 502, 200]);
    assert.ok(sends[1]!.at - sends[0]!.at >= 950, 'retry_after waited');
    assert.equal(job.attemptsMade, 1);
    assert.equal(videosFor(request).length, 1);
    await idempotencyRecord(job.id!);
  });

  async function discordJob(seed: number): Promise<string> {
    const ctx = recordingContext({
      id: '310000000000000001',
      platform: 'discord',
      target: {
        platform: 'discord',
        target: { applicationId: discord.applicationId, interactionToken: `expired-${seed}`, tokenExpiresAt: Date.now() + 15 * 60_000, channelId: discord.channelId, guildId: discord.guildId },
      },
    });
    await dispatch(commands.video, ctx, { prompt: `a lighthouse at night, take ${seed}`, seed }, h.services);
    assert.equal(ctx.replies[0]?.kind, 'accepted', ctx.replies[0]?.text);
    return ctx.replies[0]!.buttons![0]!.jobId;
  }
  const channelPosts = (from: number) => discord.requests.slice(from).filter((c) => c.method === 'POST' && c.path === `/channels/${discord.channelId}/messages`);
  const clipsInChannel = (jobId: string) => discord.messages(discord.channelId).filter((m) => m.attachments.some((a) => a.filename === `cogcast-${jobId}.mp4`));

  test('Discord 502 on every try of the upload: the job is retried after its backoff, and the video posted once', async () => {
    const from = discord.requests.length;
    // @discordjs/rest retries a 5xx 3 times at once; all 4 tries of the first attempt fail.
    discord.failNextWithServerError(CHANNEL_POST, { status: 502, times: 4 });
    const jobId = await discordJob(201);
    const { job, result } = await finished((j) => j.requestId === jobId);
    const posts = channelPosts(from);
    assert.deepEqual(posts.map((c) => c.status), [502, 502, 502, 502, 200]);
    assert.ok(posts[4]!.at - posts[3]!.at >= 250, 'the job waited its backoff before trying again');
    assert.equal(job.attemptsMade, 2);
    assert.equal(result.receipt.via, 'channel');
    assert.equal(clipsInChannel(jobId).length, 1, 'posted exactly once');
    assert.equal((await idempotencyRecord(jobId)).receipt.messageId, clipsInChannel(jobId)[0]!.id);
    assert.deepEqual(readdirSync(h.t.config.WORK_DIR), [], 'the failed attempt left no temporary files');
    await assertRerunPostsNothing(job, () => clipsInChannel(jobId).length);
  });

  test('Discord 429 on the upload: Retry-After honoured, posted once, the job ran once', async () => {
    const from = discord.requests.length;
    discord.failNext(CHANNEL_POST, { retryAfter: 0.5 });
    const jobId = await discordJob(202);
    const { job } = await finished((j) => j.requestId === jobId);
    const posts = channelPosts(from);
    assert.deepEqual(posts.map((c) => c.status), [429, 200]);
    assert.ok(posts[1]!.at - posts[0]!.at >= 450, 'Retry-After honoured');
    assert.equal(job.attemptsMade, 1);
    assert.equal(clipsInChannel(jobId).length, 1, 'posted exactly once');
    await idempotencyRecord(jobId);
  });
});
