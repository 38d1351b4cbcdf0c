// The web page's picture upload: a photo posted with the form (multipart, as the page's script and a browser without
// it send it) becomes an image-to-video job whose stored picture is the photo shaped to the preset; a text file
// named .png, a picture over IMAGE_MAX_BYTES and a post without the form's token are refused, nothing queued.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createCommandServices } from '../../src/app-services.ts';
import { logger } from '../../src/core/log.ts';
import { text } from '../../src/core/texts.ts';
import { JobImages } from '../../src/queue/job-images.ts';
import { type RunningWebPlatform, startWebPlatform } from '../../src/platforms/web/web-server.ts';
import { TINY_FLEET_PRESETS, type TestConfig, testConfig } from '../helpers/test-config.ts';

const MAX_BYTES = 20_000;

describe('web page: a photo to animate', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let web: RunningWebPlatform;
  let cookie = '';
  let csrf = '';

  before(async () => {
    t = testConfig({ WEB_PORT: '0', PRESETS_FILE: TINY_FLEET_PRESETS, IMAGE_MAX_BYTES: String(MAX_BYTES) });
    services = createCommandServices(t.config);
    await Promise.all([...services.queue.lanes.values()].map((lane) => lane.queue.waitUntilReady()));
    web = await startWebPlatform({ config: t.config, services, log: logger('web'), secretFile: join(t.tmp, 'web-secret') });
    const res = await fetch(web.url);
    cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const html = await res.text();
    csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    assert.match(html, /enctype="multipart\/form-data"/);
    assert.match(html, /<input id="image" name="image" type="file" accept="image\/jpeg,image\/png,image\/webp"/);
  });
  after(async () => {
    await web?.stop();
    await services?.close();
    await t?.cleanup();
  });

  const send = (fields: Record<string, string>, file: { bytes: Buffer; name: string; type: string } | null, opts: { csrf?: boolean; html?: boolean } = {}) => {
    const form = new FormData();
    for (const [name, value] of Object.entries({ ...fields, ...(opts.csrf === false ? {} : { csrf }) })) form.append(name, value);
    if (file) form.append('image', new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
    return fetch(`${web.url}api/videos`, { method: 'POST', headers: { cookie, accept: opts.html ? 'text/html' : 'application/json' }, body: form });
  };
  const everything = async () => ({ counts: await services.queue.counts(), pictures: (await services.redis.keys(`${services.queue.key('images')}:*`)).sort() });

  test('a photo with the form: queued for the image preset, the stored picture is the photo shaped to it', async () => {
    const photo = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c03030' } }).jpeg().toBuffer();
    const res = await send({ prompt: 'a red balloon rises' }, { bytes: photo, name: 'balloon.jpg', type: 'image/jpeg' });
    const body = (await res.json()) as { ok: boolean; text: string; jobId: string };
    assert.equal(res.status, 202, body.text);
    const job = await services.queue.getJob(body.jobId);
    assert.equal(job?.data.preset, 'tiny-animate', 'a photo with no preset goes to the image preset');
    assert.equal(job?.queueName, services.queue.lane('cogvideox-5b-i2v')!.queue.name, 'in the image model\'s lane');
    const stored = await new JobImages(services.redis, services.queue.key(), t.config.IMAGE_TTL_SECONDS).load(body.jobId);
    assert.ok(stored, 'the picture is stored under the job id');
    assert.equal(createHash('sha256').update(stored).digest('hex'), job?.data.image?.sha256);
    const meta = await sharp(stored).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 32]);
    await job?.remove();
  });

  test('a browser without the script gets a page; refusals change nothing', async () => {
    const before = await everything();
    const notes = Buffer.from('<html><body>not a picture</body></html>');
    const notImage = await send({ prompt: 'a cat' }, { bytes: notes, name: 'cat.png', type: 'image/png' }, { html: true });
    assert.equal(notImage.status, 400);
    assert.match(notImage.headers.get('content-type') ?? '', /text\/html/);
    assert.ok((await notImage.text()).includes(text('image_not_image')));

    const noisy = await sharp({ create: { width: 600, height: 600, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();
    assert.ok(noisy.length > MAX_BYTES);
    const tooBig = await send({ prompt: 'a cat' }, { bytes: noisy, name: 'big.png', type: 'image/png' });
    assert.equal(tooBig.status, 400);
    assert.match(((await tooBig.json()) as { text: string }).text, /That picture is too big .*; the limit is 20 KB\./);

    const good = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#30c030' } }).png().toBuffer();
    const textPreset = await send({ prompt: 'a cat', preset: 'tiny' }, { bytes: good, name: 'ok.png', type: 'image/png' });
    assert.equal(((await textPreset.json()) as { text: string }).text, text('image_not_accepted', { preset: 'tiny', choices: 'tiny-animate' }));
    const forged = await send({ prompt: 'a cat' }, { bytes: good, name: 'ok.png', type: 'image/png' }, { csrf: false });
    assert.equal(forged.status, 403);
    assert.deepEqual(await everything(), before, 'nothing queued, no picture stored');
  });
});
