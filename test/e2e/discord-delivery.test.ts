// The worker's Discord delivery against the fake Discord: throttled status edits, 429s, the upload limit, expired tokens, failures.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { JobStats } from '../../src/core/stats.ts';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import type { DeliverableVideo } from '../../src/platforms/platform.ts';
import { DiscordDelivery } from '../../src/platforms/discord/discord-delivery.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import { probeVideo } from '../helpers/ffprobe.ts';
import { type StatusEvents, statusEvents } from '../helpers/status-events.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const TOKEN = 'fake-discord-bot-token';
const EPHEMERAL = 1 << 6;
const alice = { id: '310000000000000001', username: 'alice' };
const run = promisify(execFile);

const stats: JobStats = {
  preset: 'tiny', seed: 5, steps: 2, width: 64, height: 32, frames: 9, fps: 8,
  queueWaitS: 0.1, textEncodeS: 0.05, denoiseS: 0.03, denoisePerStepS: 0.015, vaeDecodeS: 0.1, engineTotalS: 0.2,
  mp4EncodeS: 0.3, deliveryS: null, endToEndS: 0.7, gpuName: null, peakVramBytes: null, gpuUtilMean: null, workerId: 'w1', cached: false,
};

describe('Discord delivery (worker side)', () => {
  let server: FakeDiscordServer;
  let client: Client;
  let api: string;
  let dir: string;
  let small: DeliverableVideo;
  let big: DeliverableVideo;
  let t: TestConfig;
  const opened: StatusEvents[] = [];

  before(async () => {
    t = testConfig();
    server = new FakeDiscordServer({ token: TOKEN });
    ({ api } = await server.start());
    // A bot that only defers: the delivery, not the bot, is under test here.
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api } });
    client.on(Events.InteractionCreate, (i) => void (i.isChatInputCommand() && i.deferReply()));
    const ready = once(client, Events.ClientReady);
    await client.login(TOKEN);
    await ready;
    dir = await mkdtemp(join(tmpdir(), 'cogcast-discord-'));
    const ffmpeg = async (name: string, args: string[]): Promise<DeliverableVideo> => {
      const path = join(dir, name);
      await run('ffmpeg', ['-v', 'error', '-y', ...args, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path]);
      return { path, bytes: (await stat(path)).size, width: 64, height: 32, durationS: 9 / 8, stats };
    };
    small = await ffmpeg('small.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=64x32:rate=8', '-frames:v', '9']);
    // Noise barely compresses: a clip far over a small upload limit.
    big = { ...(await ffmpeg('big.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=24', '-t', '2', '-vf', 'noise=alls=90:allf=t+u', '-crf', '4'])), width: 320, height: 240, durationS: 2 };
  });
  after(async () => {
    for (const d of opened) await d.close();
    await t?.cleanup();
    await client?.destroy();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The outbound side as the worker drives it: job events (the status message's only input) and deliver. */
  const delivery = (opts: { now?: () => number } = {}) => {
    const d = statusEvents(new DiscordDelivery({ token: TOKEN, apiBase: api, workDir: join(dir, 'work'), progressIntervalMs: 300, ...opts }), t.config.REDIS_URL, t.config.QUEUE_NAME);
    opened.push(d);
    return d;
  };

  /** A deferred /video interaction and the job a bot would have queued for it. */
  async function deferredJob(attachmentSizeLimit = 10 * 2 ** 20): Promise<{ job: JobRequest; jobId: string; id: string; token: string }> {
    const { id, token } = await server.sendSlashCommand({ user: alice, commandName: 'video' });
    await server.waitFor(() => server.interaction(id)?.acknowledged);
    const job: JobRequest = {
      v: 1,
      requestId: randomUUID(),
      prompt: 'a **bold** fox @everyone',
      negativePrompt: '',
      preset: 'tiny',
      seed: 5,
      user: { id: alice.id, name: 'alice', platform: 'discord' },
      delivery: {
        platform: 'discord',
        target: { applicationId: server.applicationId, interactionToken: token, tokenExpiresAt: Date.now() + 15 * 60_000, channelId: server.channelId, guildId: server.guildId, attachmentSizeLimit },
      },
      createdAt: Date.now(),
    };
    return { job, jobId: job.requestId, id, token };
  }
  const edits = (token: string) => server.requests.filter((c) => c.method === 'PATCH' && c.path.includes(token));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('progress edits are throttled and coalesced; the latest state is shown, and nothing overwrites the video', async () => {
    const d = delivery();
    const { job, jobId, id, token } = await deferredJob();
    for (let step = 1; step <= 20; step++) await d.publish(job, jobId, { stage: 'generating', step, steps: 20 });
    await d.publish(job, jobId, { stage: 'encoding' });
    await server.waitFor(() => server.interaction(id)?.original?.content === '📦 Encoding the MP4…', 3_000);
    assert.deepEqual(edits(token).map((c) => (c.body as { content: string }).content), ['🎨 Generating · step 1/20\n`▰▱▱▱▱▱▱▱▱▱▱▱` 5%', '📦 Encoding the MP4…'], 'first at once, then only the latest');

    await d.publish(job, jobId, { stage: 'uploading' });
    await d.deliver(job, jobId, small);
    await d.publish(job, jobId, { stage: 'generating', step: 3, steps: 20 }); // a straggler event
    await sleep(500);
    const final = server.interaction(id)!.original!;
    assert.equal(final.attachments.length, 1);
    assert.equal(final.content, '✅ Done');
    assert.ok(edits(token).at(-1)?.files.length === 1, 'the upload is the last edit');
    assert.equal(final.embeds[0]?.title, 'a \\*\\*bold\\*\\* fox @everyone', 'prompt shown literally, not as markdown');
    assert.deepEqual((edits(token).at(-1)?.body as { allowed_mentions: unknown }).allowed_mentions, { parse: [] }, 'a prompt cannot ping anyone');
  });

  test('a 429 on the upload edit is waited out and the video still arrives', async () => {
    const d = delivery();
    const { job, jobId, id, token } = await deferredJob();
    server.failNext(`PATCH /webhooks/:app/${token}/messages/@original`, { retryAfter: 0.3 });
    const receipt = await d.deliver(job, jobId, small);
    assert.deepEqual(edits(token).map((c) => c.status), [429, 200]);
    assert.ok(edits(token)[1]!.at - edits(token)[0]!.at >= 290, 'Retry-After honoured');
    assert.equal(receipt.via, 'interaction');
    assert.ok(server.attachmentBytes(server.interaction(id)!.original!.attachments[0]!.id)?.equals(await readFile(small.path)));
  });

  test('a clip over the upload limit is re-encoded to fit', async () => {
    const limit = Math.floor(big.bytes / 4);
    server.setAttachmentSizeLimit(limit);
    try {
      const d = delivery();
      const { job, jobId, id } = await deferredJob(limit);
      const receipt = await d.deliver(job, jobId, big);
      const final = server.interaction(id)!.original!;
      const attachment = final.attachments[0]!;
      assert.ok(attachment.size <= limit, `${attachment.size} bytes fit ${limit}`);
      assert.equal(receipt.reencoded, true);
      assert.match(final.content, /re-encoded to fit/);
      const path = join(dir, 'uploaded.mp4');
      await writeFile(path, server.attachmentBytes(attachment.id)!);
      const probed = await probeVideo(path);
      assert.equal(probed.codec, 'h264');
      assert.equal(probed.width, 320);
    } finally {
      server.setAttachmentSizeLimit(10 * 2 ** 20);
    }
  });

  test('past tokenExpiresAt the video goes straight to the channel, mentioning the requester', async () => {
    const d = delivery({ now: () => Date.now() + 16 * 60_000 });
    const { job, jobId, token } = await deferredJob();
    await d.publish(job, jobId, { stage: 'generating', step: 1, steps: 2 });
    const receipt = await d.deliver(job, jobId, small);
    assert.equal(receipt.via, 'channel');
    assert.equal(server.requests.filter((c) => c.path.includes(token) && c.method !== 'POST').length, 0, 'the dead token was not even tried');
    const posted = server.message(String(receipt.messageId))!;
    assert.equal(posted.content, `<@${alice.id}> your video is ready`);
    assert.equal(posted.attachments.length, 1);
    assert.equal(posted.channel_id, server.channelId);
    const post = server.requests.find((c) => c.method === 'POST' && c.path === `/channels/${server.channelId}/messages`);
    assert.equal(post?.headers.authorization, `Bot ${TOKEN}`);
  });

  test('a failure edits the status line publicly and tells the requester why privately; cancel just says so', async () => {
    const d = delivery();
    const failed = await deferredJob();
    await d.publish(failed.job, failed.jobId, { stage: 'failed', reason: 'engine_failed', detail: 'the GPU ran out of memory' });
    const state = server.interaction(failed.id)!;
    assert.equal(state.original?.content, '❌ This video could not be made.');
    assert.equal(state.followUps[0]?.content, 'The video could not be generated: the GPU ran out of memory');
    assert.ok((state.followUps[0]?.flags ?? 0) & EPHEMERAL);

    const cancelled = await deferredJob();
    await d.publish(cancelled.job, cancelled.jobId, { stage: 'cancelled' });
    assert.equal(server.interaction(cancelled.id)?.original?.content, '✖️ Cancelled.');
    assert.deepEqual(server.interaction(cancelled.id)?.followUps, []);

    const late = await deferredJob();
    server.expireToken(late.token);
    await d.publish(late.job, late.jobId, { stage: 'failed', reason: 'engine_failed', detail: 'the GPU ran out of memory' });
    const notice = server.messages(server.channelId).at(-1);
    assert.equal(notice?.content, `<@${alice.id}> The video could not be generated: the GPU ran out of memory`);
  });
});
