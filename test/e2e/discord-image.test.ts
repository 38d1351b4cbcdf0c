// Discord image-to-video end to end: /video's `image` attachment option, registered as Discord's type 11, reaches the
// tiny image-to-video worker through the real bot (discord.js) and the fake's loopback CDN; the picture is fetched
// only after the interaction was acknowledged, and a bad one is refused with its own words, leaving nothing queued.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { APIMessage } from 'discord-api-types/v10';
import { loadPresets } from '../../config/presets.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { text } from '../../src/core/texts.ts';
import { DiscordDelivery } from '../../src/platforms/discord/discord-delivery.ts';
import { type RunningDiscordBot, startDiscordBot } from '../../src/platforms/discord/discord-bot.ts';
import { registerCommands } from '../../src/platforms/discord/register-commands.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import { eventually } from '../helpers/chat-worker-harness.ts';
import { decodedFrames } from '../helpers/ffprobe.ts';
import { TINY_FLEET_PRESETS, TINY_I2V_MODEL, type TestConfig, testConfig } from '../helpers/test-config.ts';
import { bandedPhoto } from '../helpers/pictures.ts';

const TOKEN = 'fake-discord-bot-token';
const STRING = 3;
const ATTACHMENT = 11;
const EPHEMERAL = 1 << 6;
const alice = { id: '320000000000000001', username: 'alice' };

/** A Discord bot (and optionally an image-to-video worker) on a fresh queue and fake Discord. */
async function discordSetup(withWorker: boolean) {
  const server = new FakeDiscordServer({ token: TOKEN });
  const { api } = await server.start();
  const t: TestConfig = testConfig({
    PRESETS_FILE: TINY_FLEET_PRESETS,
    ENGINE_MODEL: TINY_I2V_MODEL,
    HEARTBEAT_INTERVAL_MS: '1000',
    QUOTA_MAX_PENDING_PER_USER: '10',
    QUOTA_MAX_JOBS_PER_HOUR: '100',
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_BASE: api,
    DISCORD_GUILD_ID: server.guildId,
    DISCORD_EDIT_PACE_MS: '300',
  });
  const services = createCommandServices(t.config);
  let worker: RunningWorker | undefined;
  if (withWorker) {
    const delivery = new DiscordDelivery({ token: TOKEN, apiBase: api, workDir: join(t.tmp, 'discord'), progressIntervalMs: 300 });
    worker = await startVideoWorker({ ...t.config, WORKER_ID: 'i2v-worker' }, { deliveries: [delivery] });
  }
  const bot: RunningDiscordBot = await startDiscordBot(t.config, services);
  const lanes = () => [...services.queue.lanes.values()];
  return {
    server,
    t,
    services,
    worker,
    /** Alice runs /video with these options (an attachment option names an upload made first). */
    async video(prompt: string, extra: { name: string; value: string | number; type: number }[]) {
      return server.sendSlashCommand({ user: alice, roles: [server.roleId('Member')], commandName: 'video', options: [{ name: 'prompt', value: prompt, type: STRING }, ...extra] });
    },
    async jobCounts(): Promise<number[]> {
      return Promise.all(lanes().map(async (lane) => Object.values(await lane.counts()).reduce((a, b) => a + b, 0)));
    },
    imageKeys: () => services.redis.keys(`${services.queue.key('images')}:*`),
    async close() {
      await bot.stop();
      await worker?.close();
      await services.close();
      await server.stop();
      await t.cleanup();
    },
  };
}

describe('discord image input: registration and refusals (no engine needed)', () => {
  let s: Awaited<ReturnType<typeof discordSetup>>;

  before(async () => {
    s = await discordSetup(false);
  });
  after(async () => {
    await s?.close();
  });

  test('/video registers `image` as an optional attachment option (type 11, no choices or limits); the fake refuses limits on one', async () => {
    await registerCommands(s.t.config, loadPresets(s.t.config.PRESETS_FILE));
    const video = (s.server.commands(s.server.guildId) as { name: string; options: Record<string, unknown>[] }[]).find((c) => c.name === 'video');
    const image = video?.options.find((o) => o.name === 'image');
    assert.deepEqual(
      { type: image?.type, required: image?.required, description: image?.description, choices: image?.choices, min: image?.min_value, max: image?.max_length },
      { type: ATTACHMENT, required: false, description: text('command.video.image'), choices: undefined, min: undefined, max: undefined },
    );
    const preset = video?.options.find((o) => o.name === 'preset') as { choices: { value: string }[] } | undefined;
    assert.deepEqual(preset?.choices.map((c) => c.value), ['tiny', 'tiny-animate']);

    // Discord itself refuses choices or min/max on an attachment option: so does the fake.
    const put = (option: Record<string, unknown>) =>
      fetch(`${s.t.config.DISCORD_API_BASE}/v10/applications/${s.server.applicationId}/guilds/${s.server.guildId}/commands`, {
        method: 'PUT',
        headers: { authorization: `Bot ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ name: 'probe', description: 'probe', type: 1, options: [{ name: 'file', description: 'a file', type: ATTACHMENT, ...option }] }]),
      });
    for (const bad of [{ choices: [{ name: 'a', value: 'a' }] }, { min_value: 1 }, { max_length: 10 }]) {
      const response = await put(bad);
      assert.equal(response.status, 400, JSON.stringify(bad));
      assert.equal(((await response.json()) as { code: number }).code, 50035);
    }
    assert.equal((await put({})).status, 200, 'a plain attachment option is fine');
    await registerCommands(s.t.config, loadPresets(s.t.config.PRESETS_FILE));
  });

  test('a text file attached as x.png is refused after the ack, privately, with its message; nothing is queued or stored', async () => {
    const upload = await s.server.userAttachment({ filename: 'x.png', data: Buffer.from('not a picture, just words\n') });
    assert.equal(upload.content_type, 'image/png');
    const { id } = await s.video('a cat', [
      { name: 'image', value: upload.id, type: ATTACHMENT },
      { name: 'preset', value: 'tiny-animate', type: STRING },
    ]);
    const state = await s.server.waitFor(() => s.server.interaction(id)?.followUps[0] && s.server.interaction(id), 30_000);
    assert.equal(state.callbacks[0]?.type, 5, 'deferred first: the picture is fetched after the ack');
    assert.ok(state.originalDeleted, 'the public "thinking…" message is gone');
    assert.equal(state.followUps[0]?.content, text('image_not_image'));
    assert.ok((state.followUps[0]?.flags ?? 0) & EPHEMERAL, 'said privately');
    assert.deepEqual(s.server.attachmentDownloads.map((d) => [d.id, d.status]), [[upload.id, 200]], 'fetched once from the CDN');
    assert.deepEqual(await s.jobCounts(), [0, 0], 'no job in either lane');
    assert.deepEqual(await s.imageKeys(), [], 'no picture stored');
  });

  test('a picture with the text preset is refused before the ack, and its file is never fetched', async () => {
    const upload = await s.server.userAttachment({ filename: 'cat.png', data: await bandedPhoto('#ff0000', '#0000ff') });
    assert.deepEqual([upload.width, upload.height], [256, 160]);
    const downloads = s.server.attachmentDownloads.length;
    const { id } = await s.video('a cat', [
      { name: 'image', value: upload.id, type: ATTACHMENT },
      { name: 'preset', value: 'tiny', type: STRING },
    ]);
    const state = await s.server.waitFor(() => (s.server.interaction(id)?.acknowledged ? s.server.interaction(id) : undefined), 30_000);
    assert.deepEqual(state.callbacks.map((c) => c.type), [4], 'answered directly, never deferred');
    assert.ok(state.ephemeral);
    assert.equal(state.original?.content, text('image_not_accepted', { preset: 'tiny', choices: 'tiny-animate' }));
    assert.equal(s.server.attachmentDownloads.length, downloads, 'not downloaded');
    assert.deepEqual(await s.jobCounts(), [0, 0]);
  });
});

describe('discord image input: clips from the tiny image-to-video worker', () => {
  let s: Awaited<ReturnType<typeof discordSetup>>;

  before(async () => {
    s = await discordSetup(true);
    assert.equal(s.worker?.queue.model, 'cogvideox-5b-i2v', 'the worker holds the image-to-video model');
  });
  after(async () => {
    await s?.close();
  });

  /** Alice's /video prompt:a cat image:<picture> preset:tiny-animate, to its posted clip decoded to raw RGB frames. */
  async function animate(picture: Buffer, name: string): Promise<{ frames: Buffer; final: APIMessage; callbackAt: number; downloadAt: number }> {
    const upload = await s.server.userAttachment({ filename: `${name}.png`, data: picture });
    const { id, token } = await s.video('a cat', [
      { name: 'image', value: upload.id, type: ATTACHMENT },
      { name: 'preset', value: 'tiny-animate', type: STRING },
      { name: 'seed', value: 7, type: 4 },
    ]);
    const final = await s.server.waitFor(() => {
      const original = s.server.interaction(id)?.original;
      return original && original.attachments.length > 0 ? original : undefined;
    }, 240_000);
    const clip = final.attachments[0]!;
    assert.equal(clip.content_type, 'video/mp4');
    const path = join(s.t.tmp, `${name}.mp4`);
    await writeFile(path, s.server.attachmentBytes(clip.id)!);
    const frames = await decodedFrames(path);
    assert.equal(frames.length, 64 * 32 * 3 * 9, 'nine 64x32 frames');
    const callback = s.server.requests.find((c) => c.method === 'POST' && c.path === `/interactions/${id}/${token}/callback`);
    const download = s.server.attachmentDownloads.find((d) => d.id === upload.id);
    assert.ok(callback && download, 'acknowledged, and the picture fetched');
    return { frames, final, callbackAt: callback.at, downloadAt: download.at };
  }

  test('/video prompt:a cat image:<photo> preset:tiny-animate comes back as a clip; another photo gives other frames', { timeout: 500_000 }, async () => {
    const red = await animate(await bandedPhoto('#ff0000', '#0000ff'), 'red-blue');
    assert.ok(red.callbackAt <= red.downloadAt, 'the picture was fetched only after the interaction was acknowledged');
    assert.match(red.final.embeds[0]?.description ?? '', /^tiny-animate · 64x32 · 9 frames @ 8 fps · 2 steps · seed 7\n/);
    const green = await animate(await bandedPhoto('#00ff00', '#ffff00'), 'green-yellow');
    assert.notDeepEqual(green.frames, red.frames, 'same prompt and seed, another picture: other frames');

    // The clip is on screen a moment before BullMQ records the job as completed.
    const jobs = await eventually(async () => {
      const completed = await s.worker!.queue.queue.getJobs(['completed']);
      return completed.length === 2 ? completed : undefined;
    }, 60_000, "both jobs completed in the image model's lane");
    assert.notEqual(jobs[0]!.data.image?.sha256, jobs[1]!.data.image?.sha256);
    assert.ok(jobs.every((j) => j.returnvalue.stats.cached === false));
    await eventually(async () => (await s.imageKeys()).length === 2, 10_000, 'both pictures kept for rerolls');
  });
});
