// `npm run video`: the way to try cogcast without chat tokens, as a user runs it (its own process, the
// embedded worker, the tiny engine), writing a playable MP4 and printing the stats.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { cliClipPath } from '../../src/platforms/cli/cli-clip.ts';
import { decodedFrames, probeVideo } from '../helpers/ffprobe.ts';
import { text } from '../../src/core/texts.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { envFor } from '../helpers/worker-process.ts';
import { REPO_ROOT, TINY_FLEET_PRESETS, TINY_I2V_MODEL, testConfig } from '../helpers/test-config.ts';

const run = promisify(execFile);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function videoCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', 'video', '--', ...args], { cwd: REPO_ROOT, env, timeout: 180_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('npm run video (CLI adapter)', () => {
  const t = testConfig();
  const env = envFor(t.config);
  after(() => t.cleanup());

  test('writes a playable H.264 MP4 of the preset shape and prints the stats with the seed', async () => {
    const out = join(t.tmp, 'fox.mp4');
    const { code, stdout, stderr } = await videoCli(env, '--prompt', 'a red fox in the snow', '--seed', '42', '--out', out);
    assert.equal(code, 0, stderr);
    assert.ok(existsSync(out), `no MP4 at ${out}: ${stderr}`);
    const video = await probeVideo(out);
    assert.deepEqual(
      { codec: video.codec, width: video.width, height: video.height, pixFmt: video.pixFmt, frames: video.frames, fps: video.fps },
      { codec: 'h264', width: 64, height: 32, pixFmt: 'yuv420p', frames: 9, fps: 8 },
    );
    assert.match(stdout, /seed 42/);
    assert.match(stdout, /text [\d.]+ s · denoise [\d.]+ s .*\n.*VAE [\d.]+ s · MP4 [\d.]+ s.*\nend to end [\d.]+ s/);
    assert.match(stdout, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(stderr, /Queued/);
  });

  test('bad input: a clear message, exit code 1, nothing written', async () => {
    const out = join(t.tmp, 'never.mp4');
    const empty = await videoCli(env, '--prompt', '   ', '--out', out);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /prompt/i);
    const unknown = await videoCli(env, '--prompt', 'a boat', '--preset', 'ultra', '--out', out);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown preset "ultra". Choose one of: tiny, tiny-slow/);
    assert.equal(existsSync(out), false);
  });

  test('an output path planted in a CLI job in Redis is never written: the worker keeps the clip under OUTPUT_DIR', async () => {
    const planted = join(t.tmp, 'outside', '..', 'planted.mp4');
    const services = createCommandServices(t.config);
    try {
      await services.queue.primary.queue.waitUntilReady();
      const ctx = recordingContext({ id: 'mallory', target: { platform: 'cli', target: { outPath: planted } } });
      await dispatch(commands.video, ctx, { prompt: 'a planted path', preset: 'tiny' }, services);
      const jobId = ctx.replies[0]?.jobId;
      assert.ok(jobId, ctx.replies[0]?.text);
      // The CLI's embedded worker takes the planted job first (it waits ahead of the CLI's own).
      const out = join(t.tmp, 'own.mp4');
      const { code, stderr } = await videoCli(env, '--prompt', 'my own clip', '--out', out);
      assert.equal(code, 0, stderr);
      assert.ok(existsSync(out), 'the CLI wrote its own clip where asked');
      const job = await services.queue.primary.queue.getJob(jobId);
      assert.equal(await job?.getState(), 'completed');
      assert.equal(existsSync(planted), false, 'nothing written at the planted path');
      assert.equal(job?.returnvalue?.receipt.path, cliClipPath(t.config.OUTPUT_DIR, jobId));
      assert.ok(existsSync(cliClipPath(t.config.OUTPUT_DIR, jobId)), 'the clip is under OUTPUT_DIR/cli');
    } finally {
      await services.close();
    }
  });

  test('--smooth: twice the frames per second, the same duration, the post-process timed in the stats', async () => {
    const plain = join(t.tmp, 'plain.mp4');
    const smooth = join(t.tmp, 'smooth.mp4');
    // One worker for both runs (the embedded one is the first test's): each CLI run would start its own.
    const worker = await startVideoWorker(t.config);
    let a: CliRun;
    let b: CliRun;
    try {
      a = await videoCli(env, '--prompt', 'a kite in the wind', '--seed', '7', '--no-worker', '--out', plain);
      assert.equal(a.code, 0, a.stderr);
      b = await videoCli(env, '--prompt', 'a kite in the wind', '--seed', '7', '--smooth', '--no-worker', '--out', smooth);
      assert.equal(b.code, 0, b.stderr);
    } finally {
      await worker.close();
    }
    const [p, s] = [await probeVideo(plain), await probeVideo(smooth)];
    assert.equal(s.fps, 2 * p.fps);
    assert.equal(s.frames / s.fps, p.frames / p.fps, `duration ${s.frames}/${s.fps} vs ${p.frames}/${p.fps}`);
    assert.deepEqual([s.width, s.height, s.codec], [p.width, p.height, p.codec]);
    assert.match(b.stdout, new RegExp(`smooth [\\d.]+ s \\(post-process, ${s.fps} fps\\)`));
    assert.match(b.stdout, new RegExp(`${s.frames} frames @ ${s.fps} fps`), 'the stats show the clip as posted');
    assert.doesNotMatch(a.stdout, /smooth/);
  });
});

describe('npm run video --image (image-to-video from the terminal)', () => {
  const t = testConfig({ PRESETS_FILE: TINY_FLEET_PRESETS, ENGINE_MODEL: TINY_I2V_MODEL });
  const env = envFor(t.config);
  // One image-to-video worker for the file (the CLI's own embedded worker is the suite above's): `--no-worker` runs.
  let worker: RunningWorker | undefined;
  before(async () => {
    worker = await startVideoWorker(t.config);
  });
  after(async () => {
    await worker?.close();
    await t.cleanup();
  });
  const picture = async (name: string, colour: string) => {
    const path = join(t.tmp, name);
    await sharp({ create: { width: 200, height: 150, channels: 3, background: colour } }).jpeg().toFile(path);
    return path;
  };

  test('a photo on disk becomes a clip of the image-to-video model; another photo, other frames', async () => {
    const [red, blue] = [await picture('red.jpg', '#d01010'), await picture('blue.jpg', '#1010d0')];
    const outs = [join(t.tmp, 'red.mp4'), join(t.tmp, 'blue.mp4')];
    for (const [i, path] of [red, blue].entries()) {
      const { code, stdout, stderr } = await videoCli(env, '--prompt', 'a cat wakes up', '--image', path, '--seed', '3', '--no-worker', '--out', outs[i]!);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /tiny-animate · seed 3|seed 3/);
    }
    const video = await probeVideo(outs[0]!);
    assert.deepEqual([video.width, video.height, video.frames], [64, 32, 9]);
    assert.notDeepEqual(await decodedFrames(outs[0]!), await decodedFrames(outs[1]!), 'the picture makes the clip');
  });

  test('a text file named .png, a text preset with a photo, an image preset without one: refused, nothing queued', async () => {
    const services = createCommandServices(t.config);
    await services.queue.primary.queue.waitUntilReady();
    const pictures = () => services.redis.keys(`${services.queue.key('images')}:*`);
    const before = { pictures: (await pictures()).sort(), counts: await services.queue.counts() };
    const fake = join(t.tmp, 'notes.png');
    writeFileSync(fake, 'these are my notes, not a picture\n');
    const out = join(t.tmp, 'never.mp4');
    const notImage = await videoCli(env, '--prompt', 'a cat', '--image', fake, '--out', out);
    assert.equal(notImage.code, 1);
    assert.ok(notImage.stderr.includes(text('image_not_image')), notImage.stderr);
    const textPreset = await videoCli(env, '--prompt', 'a cat', '--image', await picture('ok.jpg', '#20a020'), '--preset', 'tiny', '--out', out);
    assert.equal(textPreset.code, 1);
    assert.ok(textPreset.stderr.includes(text('image_not_accepted', { preset: 'tiny', choices: 'tiny-animate' })), textPreset.stderr);
    const noPhoto = await videoCli(env, '--prompt', 'a cat', '--preset', 'tiny-animate', '--out', out);
    assert.equal(noPhoto.code, 1);
    assert.ok(noPhoto.stderr.includes(text('image_required', { preset: 'tiny-animate' })), noPhoto.stderr);
    assert.equal(existsSync(out), false);
    try {
      assert.deepEqual(await services.queue.counts(), before.counts, 'nothing queued');
      assert.deepEqual((await pictures()).sort(), before.pictures, 'no picture stored');
    } finally {
      await services.close();
    }
  });
});
