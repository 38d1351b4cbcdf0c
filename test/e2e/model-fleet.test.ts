// Two workers holding different tiny models on one Redis (the text pipeline, which reads as cogvideox-2b, and the
// image-to-video one, cogvideox-5b-i2v): each job reaches a worker of its model, a preset whose model no live worker
// holds is refused at once with the presets available now, and the clip of a picture depends on the picture.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import type { ImageUpload } from '../../src/core/image-upload.ts';
import { text } from '../../src/core/texts.ts';
import { liveModels } from '../../src/queue/fleet-readings.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { eventually } from '../helpers/chat-worker-harness.ts';
import { CountingDelivery } from '../helpers/counting-delivery.ts';
import { decodedFrames } from '../helpers/ffprobe.ts';
import { bandedPhoto } from '../helpers/pictures.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { TINY_FLEET_PRESETS, TINY_I2V_MODEL, TINY_MODEL, type TestConfig, testConfig } from '../helpers/test-config.ts';

/** A picture as a platform hands it over: bytes in memory. */
const upload = (bytes: Buffer): ImageUpload => ({ declaredBytes: bytes.length, fetch: async () => bytes });

describe('a fleet of two models on one Redis', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  const workers: RunningWorker[] = [];
  let textDelivery: CountingDelivery;
  let imageDelivery: CountingDelivery;

  before(async () => {
    t = testConfig({ PRESETS_FILE: TINY_FLEET_PRESETS, HEARTBEAT_INTERVAL_MS: '1000', QUOTA_MAX_PENDING_PER_USER: '10' });
    services = createCommandServices(t.config);
    textDelivery = new CountingDelivery(t.config.OUTPUT_DIR);
    imageDelivery = new CountingDelivery(t.config.OUTPUT_DIR);
    await Promise.all([...services.queue.lanes.values()].map((lane) => lane.queue.waitUntilReady()));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await services?.close();
    await t?.cleanup();
  });

  async function ask(input: Record<string, unknown>, user = 'u1') {
    const ctx = recordingContext({ id: user, isAdmin: true });
    await dispatch(commands.video, ctx, { prompt: 'a red fox in the snow', seed: 7, ...input }, services);
    return ctx.replies[0]!;
  }
  const imageKeys = () => services.redis.keys(`${services.queue.key('images')}:*`);
  const laneCounts = async () => Promise.all([...services.queue.lanes.values()].map(async (lane) => (await lane.counts()).waiting + (await lane.counts()).active));

  test('with no worker up a job is queued and told it waits for one; once a worker of its model takes jobs, it is told its place', { timeout: 120_000 }, async () => {
    const first = await ask({ preset: 'tiny' });
    const second = await ask({ preset: 'tiny' });
    assert.ok(first.text.endsWith(text('video.no_worker')), first.text);
    const event = async (jobId: string) => (await services.queue.events!.store.get(jobId))?.event;
    assert.deepEqual(await event(second.jobId!), { stage: 'queued', position: 2, etaSeconds: (await event(second.jobId!) as { etaSeconds: number }).etaSeconds, asOf: (await event(second.jobId!) as { asOf: number }).asOf, noWorker: true });
    workers.push(await startVideoWorker({ ...t.config, ENGINE_MODEL: TINY_MODEL, WORKER_ID: 'text-worker' }, { deliveries: [textDelivery] }));
    await eventually(async () => textDelivery.delivered.length === 2, 100_000, 'both delivered');
    // On its way it was told its new place, without the note (the worker took the first job).
    const told = textDelivery.progressed.filter((p) => p.jobId === second.jobId && p.update.stage === 'queued').map((p) => p.update as { position: number; noWorker?: true });
    assert.ok(told.some((e) => e.position === 1 && e.noWorker === undefined), JSON.stringify(told));
    textDelivery.delivered.length = 0;
  });

  test('only the text model is held: an image preset is refused at once, naming what runs now; nothing is queued', async () => {
    await eventually(async () => (await liveModels(services.queue)).models.has('cogvideox-2b'), 30_000, 'the text worker announces its model');
    const reply = await ask({ preset: 'tiny-animate', image: upload(await bandedPhoto('#ff0000', '#0000ff')) });
    assert.equal(reply.kind, 'error');
    assert.equal(reply.text, text('preset_unavailable', { preset: 'tiny-animate', model: 'cogvideox-5b-i2v', choices: 'tiny' }));
    assert.deepEqual(await laneCounts(), [0, 0], 'no job in any lane');
    assert.deepEqual(await imageKeys(), [], 'the picture was not stored');
  });

  test('with both models held each job reaches a worker of its model, and /gpu status shows each worker\'s model', { timeout: 240_000 }, async () => {
    workers.push(await startVideoWorker({ ...t.config, ENGINE_MODEL: TINY_I2V_MODEL, WORKER_ID: 'image-worker' }, { deliveries: [imageDelivery] }));
    assert.equal(workers[1]!.queue.model, 'cogvideox-5b-i2v', 'the worker read its model from model_index.json');
    await eventually(async () => (await liveModels(services.queue)).models.has('cogvideox-5b-i2v'), 30_000, 'the image worker announces its model');

    const red = await ask({ preset: 'tiny-animate', image: upload(await bandedPhoto('#ff0000', '#0000ff')) });
    const green = await ask({ preset: 'tiny-animate', image: upload(await bandedPhoto('#00ff00', '#ffff00')) });
    const plain = await ask({ preset: 'tiny' });
    for (const reply of [red, green, plain]) assert.equal(reply.kind, 'accepted', reply.text);
    // A picture with no preset named goes to the image preset.
    const picked = await ask({ image: upload(await bandedPhoto('#ffffff', '#000000')) });
    assert.equal(picked.kind, 'accepted', picked.text);
    assert.match(picked.text, /tiny-animate/);

    const byId = (delivery: CountingDelivery) => delivery.delivered.map((d) => d.jobId).sort();
    await eventually(async () => textDelivery.delivered.length + imageDelivery.delivered.length === 4, 200_000, 'every job delivered');
    assert.deepEqual(byId(textDelivery), [plain.jobId!]);
    assert.deepEqual(byId(imageDelivery), [red.jobId!, green.jobId!, picked.jobId!].sort());

    const frames = async (jobId: string) => decodedFrames(imageDelivery.delivered.find((d) => d.jobId === jobId)!.video.path);
    const [redFrames, greenFrames] = await Promise.all([frames(red.jobId!), frames(green.jobId!)]);
    assert.equal(redFrames.length, 64 * 32 * 3 * 9, 'nine 64x32 frames');
    assert.notDeepEqual(redFrames, greenFrames, 'same prompt and seed, another picture: other frames');

    const ctx = recordingContext({ id: 'admin', isAdmin: true });
    await dispatch(commands.gpuStatus, ctx, {}, services);
    const status = ctx.replies[0]!.text;
    assert.match(status, /🖥 text-worker · .* · cogvideox-2b/);
    assert.match(status, /🖥 image-worker · .* · cogvideox-5b-i2v/);
    assert.match(status, /cogvideox-5b-i2v: 0 waiting · 0 active · 1 worker/);
    // Kept for rerolls and retries, within IMAGE_TTL_SECONDS; the engine's copy left with the job's folder.
    const kept = await imageKeys();
    assert.equal(kept.length, 3);
    for (const key of kept) assert.ok((await services.redis.ttl(key)) > 0 && (await services.redis.ttl(key)) <= t.config.IMAGE_TTL_SECONDS, key);
    assert.deepEqual(readdirSync(t.config.WORK_DIR), [], 'no job folder (nor its input.png) left behind');
  });
});
