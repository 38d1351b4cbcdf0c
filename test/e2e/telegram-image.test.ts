// Telegram image-to-video end to end: a photo (or image document) with /gen as its caption, or a /gen replying to one,
// reaches the tiny image-to-video worker through the real bot (telegraf), the fake Bot API's getFile and its file
// download route; bad pictures are refused with their own words and leave nothing queued or stored.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import sharp from 'sharp';
import { Telegram } from 'telegraf';
import { UserFacingError } from '../../src/core/errors.ts';
import { formatBytes } from '../../src/core/image-upload.ts';
import { text } from '../../src/core/texts.ts';
import { TelegramDelivery } from '../../src/platforms/telegram/telegram-delivery.ts';
import { TELEGRAM_DOWNLOAD_MAX_BYTES, telegramImageUpload } from '../../src/platforms/telegram/telegram-image.ts';
import type { JobRequest, JobResult } from '../../src/queue/job-contract.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { FakeTelegramServer, type StoredMessage, type TgMessage, serverError } from '../fakes/telegram/fake-telegram-server.ts';
import { eventually } from '../helpers/chat-worker-harness.ts';
import { decodedFrames } from '../helpers/ffprobe.ts';
import { ALICE, GROUP_ID, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';
import { TINY_FLEET_PRESETS, TINY_I2V_MODEL } from '../helpers/test-config.ts';
import { bandedPhoto } from '../helpers/pictures.ts';

const I2V = 'cogvideox-5b-i2v';
/** Low, so a picture over it is small enough to make in a test. */
const IMAGE_MAX_BYTES = 100_000;

/** Three 200x200 frames stacked in one tall image; pageHeight makes them frames of an animated WebP. */
async function animatedWebp(): Promise<Buffer> {
  const tall = Buffer.alloc(200 * 600 * 3);
  for (let i = 0; i < tall.length; i++) tall[i] = Math.floor(i / (200 * 200 * 3)) * 100;
  return sharp(tall, { raw: { width: 200, height: 600, channels: 3, pageHeight: 200 } }).webp({ delay: [100, 100, 100] }).toBuffer();
}

/** Random pixels do not compress: a PNG well over IMAGE_MAX_BYTES. */
async function noisyPng(): Promise<Buffer> {
  const raw = Buffer.alloc(300 * 300 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(Math.random() * 256);
  return sharp(raw, { raw: { width: 300, height: 300, channels: 3 } }).png().toBuffer();
}

function harness(extra: Record<string, string> = {}): Promise<TelegramHarness> {
  return telegramHarness({ PRESETS_FILE: TINY_FLEET_PRESETS, IMAGE_MAX_BYTES: String(IMAGE_MAX_BYTES), QUOTA_MAX_PENDING_PER_USER: '10', ...extra });
}

/** Every job of every lane (the text model's and the image model's), and the images stored for jobs. */
function inspect(h: TelegramHarness) {
  const lanes = () => [...h.services.queue.lanes.values()];
  return {
    async jobCounts(): Promise<number[]> {
      return Promise.all(lanes().map(async (lane) => Object.values(await lane.counts()).reduce((a, b) => a + b, 0)));
    },
    imageKeys: () => h.services.redis.keys(`${h.services.queue.key('images')}:*`),
    /** The job of a Telegram request (its delivery quotes the request). */
    async jobFor(request: TgMessage): Promise<Job<JobRequest, JobResult>> {
      return eventually(async () => {
        for (const lane of lanes()) {
          const jobs = await lane.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
          const found = jobs.find((j) => j.data.delivery.platform === 'telegram' && j.data.delivery.target.chatId === request.chat.id && j.data.delivery.target.replyToMessageId === request.message_id);
          if (found) return found as Job<JobRequest, JobResult>;
        }
        return undefined;
      }, 30_000, `the job of message ${request.message_id}`);
    },
  };
}

describe('telegram image input: refusals (no engine needed)', () => {
  let h: TelegramHarness;
  let look: ReturnType<typeof inspect>;

  before(async () => {
    h = await harness();
    look = inspect(h);
    await h.startBot();
  });
  after(async () => {
    await h?.close();
  });

  /** The request is answered with exactly `expected`, and nothing reached a queue or the image store. */
  async function refusedWith(request: TgMessage, expected: string): Promise<void> {
    const answer = await h.answerTo(request, 30_000);
    assert.equal(answer.text, expected);
    await h.server.waitForIdle(30_000);
    assert.deepEqual(await look.jobCounts(), [0, 0], 'no job in either lane');
    assert.deepEqual(await look.imageKeys(), [], 'no picture stored');
  }
  const document = (bytes: Buffer, filename: string, caption = '/gen a cat | preset=tiny-animate seed=7') =>
    h.server.sendUserDocument({ from: ALICE, bytes, filename, caption });

  test('a text file sent as the document x.png is not a picture', async () => {
    const request = document(Buffer.from('hello, I am not a picture at all\n'), 'x.png');
    assert.equal(request.document?.mime_type, 'image/png', 'the client named it a PNG by its file name');
    await refusedWith(request, text('image_not_image'));
    assert.ok(h.server.downloads.some((d) => d.path.startsWith('documents/') && d.status === 200), 'the bytes were fetched and read');
  });

  test('a 1x1 PNG is too small', async () => {
    const tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ff0000' } }).png().toBuffer();
    await refusedWith(await h.server.sendUserPhoto({ from: ALICE, bytes: tiny, caption: '/gen a dot | preset=tiny-animate' }), text('image_too_small', { width: 1, height: 1, min: 128 }));
  });

  test('an animated WebP is refused as animated', async () => {
    await refusedWith(document(await animatedWebp(), 'dance.webp'), text('image_animated'));
  });

  test('a file over IMAGE_MAX_BYTES is refused from its declared size, before any download', async () => {
    const big = await noisyPng();
    assert.ok(big.length > IMAGE_MAX_BYTES);
    const downloadsBefore = h.server.downloads.length;
    const getFilesBefore = h.server.callsTo('getFile').length;
    await refusedWith(document(big, 'big.png'), text('image_too_big', { size: formatBytes(big.length), max: formatBytes(IMAGE_MAX_BYTES) }));
    assert.equal(h.server.downloads.length, downloadsBefore, 'nothing downloaded');
    assert.equal(h.server.callsTo('getFile').length, getFilesBefore, 'not even asked for');
  });

  test('preset=tiny-animate without a photo asks for one; a photo with the text preset names the image presets', async () => {
    await refusedWith(h.say(ALICE, '/gen a cat | preset=tiny-animate seed=7'), text('image_required', { preset: 'tiny-animate' }));
    const request = await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#ff0000', '#0000ff'), caption: '/gen a cat | preset=tiny seed=7' });
    await refusedWith(request, text('image_not_accepted', { preset: 'tiny', choices: 'tiny-animate' }));
  });

  test('a photo whose file Telegram cannot hand over (getFile keeps failing) is unavailable, said without a URL', async () => {
    h.server.failNext('getFile', serverError(502), 3);
    const request = await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#00ff00', '#ff00ff'), caption: '/gen a cat | preset=tiny-animate seed=7' });
    await refusedWith(request, text('image_unavailable'));
  });

  test('a photo whose caption is no /gen is not a job: no file is fetched', async () => {
    const getFilesBefore = h.server.callsTo('getFile').length;
    await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#ff0000', '#0000ff'), caption: 'look, a cat' });
    await h.server.waitForIdle(30_000);
    assert.equal(h.server.callsTo('getFile').length, getFilesBefore);
    assert.deepEqual(await look.jobCounts(), [0, 0]);
  });
});

describe('telegram image input: the fake Bot API and the upload', () => {
  let server: FakeTelegramServer;
  let telegram: Telegram;

  before(async () => {
    server = new FakeTelegramServer({ downloadLimitBytes: 1000 });
    const { apiRoot } = await server.start();
    telegram = new Telegram(server.token, { apiRoot });
  });
  after(async () => {
    await server?.stop();
  });

  test('getFile names a path of the download route, served with the token only; unknown ids and paths are refused', async () => {
    const bytes = await bandedPhoto('#ff0000', '#0000ff');
    const message = await server.sendUserPhoto({ from: ALICE, bytes });
    const sizes = message.photo!;
    assert.ok(sizes.length >= 2, 'a thumbnail and the photo itself');
    assert.deepEqual(sizes.map((s) => Math.max(s.width, s.height)), [90, 256], 'smallest first, the largest never above the original');
    await assert.rejects(telegram.getFile('AgACAgIAAxkBAAInope'), { code: 400, description: 'Bad Request: invalid file_id' });
    const file = await telegram.getFile(sizes[0]!.file_id);
    assert.deepEqual(Object.keys(file).sort(), ['file_id', 'file_path', 'file_size', 'file_unique_id']);
    assert.match(file.file_path!, /^photos\/file_\d+\.jpg$/);
    const ok = await fetch(`${server.apiRoot}/file/bot${server.token}/${file.file_path}`);
    assert.equal(ok.status, 200);
    assert.equal((await ok.arrayBuffer()).byteLength, file.file_size);
    assert.equal((await fetch(`${server.apiRoot}/file/bot123456789:AAWrong/${file.file_path}`)).status, 401);
    assert.equal((await fetch(`${server.apiRoot}/file/bot${server.token}/photos/file_999.jpg`)).status, 404);
  });

  test('the upload: over 20 MB refused before getFile; "file is too big" and a bad file_id become the product\'s errors, never the token', async () => {
    const declared = telegramImageUpload(telegram, { fileId: 'whatever', fileSize: TELEGRAM_DOWNLOAD_MAX_BYTES + 1 });
    const calls = server.callsTo('getFile').length;
    await assert.rejects(declared.fetch(30 * 1024 * 1024), (err: unknown) => err instanceof UserFacingError && err.code === 'image_too_big' && err.params?.max === '20.0 MB');
    assert.equal(server.callsTo('getFile').length, calls, 'Telegram was not asked');

    // Over this fake's download limit (1000 bytes): getFile answers "file is too big", as Telegram does over 20 MB.
    const big = server.sendUserDocument({ from: ALICE, bytes: await noisyPng(), filename: 'big.png' });
    await assert.rejects(telegramImageUpload(telegram, { fileId: big.document!.file_id }).fetch(IMAGE_MAX_BYTES * 10), (err: unknown) => err instanceof UserFacingError && err.code === 'image_too_big');
    await assert.rejects(telegramImageUpload(telegram, { fileId: 'AgACAgIAAxkBAAInope' }).fetch(IMAGE_MAX_BYTES), (err: unknown) => {
      assert.ok(err instanceof UserFacingError && err.code === 'image_unavailable');
      assert.equal(err.cause, undefined);
      assert.ok(!String(err.stack).includes(server.token) && !JSON.stringify(err).includes(server.token), 'the token is in no part of the error');
      return true;
    });
  });
});

describe('telegram image input: clips from the tiny image-to-video worker', () => {
  let h: TelegramHarness;
  let look: ReturnType<typeof inspect>;
  let worker: RunningWorker;
  const clips = new Map<string, Buffer>();
  let greenSha = '';

  before(async () => {
    h = await harness({ ENGINE_MODEL: TINY_I2V_MODEL, HEARTBEAT_INTERVAL_MS: '1000' });
    look = inspect(h);
    const delivery = new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, editIntervalMs: 50, workDir: h.t.tmp, retryBudgetMs: 20_000 });
    worker = await startVideoWorker({ ...h.t.config, WORKER_ID: 'i2v-worker' }, { deliveries: [delivery] });
    assert.equal(worker.queue.model, I2V, 'the worker holds the image-to-video model');
    await h.startBot();
  });
  after(async () => {
    await h?.bot?.stop();
    await worker?.close();
    await h?.close();
  });

  /** The clip the bot posted in answer to `request`, decoded to raw RGB frames (MP4 bytes alone may differ in metadata). */
  async function clipFor(request: TgMessage, name: string): Promise<{ video: StoredMessage; frames: Buffer }> {
    const video = await h.server.waitForMessage((m) => m.chatId === request.chat.id && m.file !== undefined && m.message.reply_to_message?.message_id === request.message_id, 240_000);
    const path = join(h.t.tmp, `${name}.mp4`);
    await writeFile(path, video.file!.bytes);
    const frames = await decodedFrames(path);
    assert.equal(frames.length, 64 * 32 * 3 * 9, 'nine 64x32 frames');
    clips.set(name, frames);
    return { video, frames };
  }
  const finished = async (job: Job<JobRequest, JobResult>) =>
    eventually(async () => {
      const fresh = await worker.queue.queue.getJob(job.id!);
      return fresh && (await fresh.getState()) === 'completed' ? (fresh as Job<JobRequest, JobResult>) : undefined;
    }, 240_000, `job ${job.id} to complete`);

  test('a photo captioned "/gen a cat | preset=tiny-animate seed=7" comes back as a clip from the image worker', { timeout: 300_000 }, async () => {
    const request = await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#ff0000', '#0000ff'), caption: '/gen a cat | preset=tiny-animate seed=7' });
    const job = await look.jobFor(request);
    assert.equal(job.queueName, worker.queue.queue.name, "queued in the image model's lane");
    assert.equal(job.data.preset, 'tiny-animate');
    assert.equal(job.data.image?.width, 64);
    assert.match(job.data.image?.sha256 ?? '', /^[0-9a-f]{64}$/);
    // The largest size of the photo was fetched, not the thumbnail Telegram lists first.
    const asked = h.server.callsTo('getFile').map((c) => c.params.file_id);
    assert.deepEqual(asked, [request.photo!.at(-1)!.file_id]);
    await clipFor(request, 'red-blue');
    const done = await finished(job);
    assert.equal(done.returnvalue.stats.cached, false);
  });

  test('another photo, same prompt and seed: other frames; the same photo again: the same frames', { timeout: 400_000 }, async () => {
    const other = await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#00ff00', '#ffff00'), caption: '/gen a cat | preset=tiny-animate seed=7' });
    const { frames: greenFrames } = await clipFor(other, 'green-yellow');
    greenSha = (await look.jobFor(other)).data.image!.sha256;
    assert.notDeepEqual(greenFrames, clips.get('red-blue'), 'another picture, same prompt and seed: other frames');

    // The identical request would reuse the stored clip: drop the result cache so the engine really runs it again.
    const cached = await h.services.redis.keys(`${worker.queue.key('result')}:*`);
    assert.ok(cached.length >= 2, `result cache entries: ${cached.join(', ')}`);
    await h.services.redis.del(...cached);
    const again = await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#ff0000', '#0000ff'), caption: '/gen a cat | preset=tiny-animate seed=7' });
    const { frames: againFrames } = await clipFor(again, 'red-blue-again');
    assert.deepEqual(againFrames, clips.get('red-blue'), 'the same picture, prompt and seed: the same frames');
    // The clip is on screen a moment before BullMQ records its job as completed.
    const jobs = await eventually(async () => {
      const done = (await worker.queue.queue.getJobs(['completed'])).filter((j) => j.data.prompt === 'a cat');
      return done.length === 3 ? done : undefined;
    }, 60_000, 'the three "a cat" jobs completed');
    assert.ok(jobs.every((j) => j.returnvalue.stats.cached === false), 'every clip came from the engine, none from the cache');
  });

  test('a /gen replying to a photo animates that photo; an image document captioned /gen@fakebot in a group too', { timeout: 400_000 }, async () => {
    const picture = await h.server.sendUserPhoto({ from: ALICE, bytes: await bandedPhoto('#00ff00', '#ffff00') });
    const reply = h.server.sendUserMessage({ from: ALICE, text: '/gen a dog | preset=tiny-animate seed=9', replyToMessageId: picture.message_id });
    const replyJob = await look.jobFor(reply);
    await clipFor(reply, 'reply');
    assert.equal(replyJob.data.image?.sha256, greenSha, 'the replied-to photo is the picture of the job');

    const document = h.server.sendUserDocument({
      from: ALICE,
      bytes: await bandedPhoto('#ffffff', '#000000'),
      filename: 'sketch.png',
      caption: '/gen@fakebot a bird | preset=tiny-animate seed=3',
      chatType: 'supergroup',
      chatId: GROUP_ID,
      chatTitle: 'Video lab',
    });
    assert.equal(document.document?.mime_type, 'image/png');
    assert.equal((await look.jobFor(document)).data.preset, 'tiny-animate');
    await clipFor(document, 'document');
  });
});
