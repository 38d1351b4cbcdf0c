// prepareImage: a JPEG, PNG or WebP still becomes an upright sRGB PNG of exactly the video's shape, centre kept;
// everything else is refused by its bytes with the code a person is told. Every input is made here with sharp
// (or by hand where sharp cannot write it): no binary fixtures.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { UserFacingError, type UserErrorCode } from '../../src/core/errors.ts';
import { text } from '../../src/core/texts.ts';
import { FLATTEN_BACKGROUND, type ImageLimits, imageLimits, prepareImage } from '../../src/media/image-input.ts';

const LIMITS: ImageLimits = { maxBytes: 10 * 1024 * 1024, minSide: 128, maxMegapixels: 40 };
const VIDEO = { width: 720, height: 480 };
const TINY = { width: 64, height: 32 };

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const GREEN: Rgb = [0, 255, 0];
const WHITE: Rgb = [255, 255, 255];

/** Raw RGBA pixels from a painter (x, y) -> [r, g, b, a]. */
function paint(width: number, height: number, at: (x: number, y: number) => [number, number, number, number]): Sharp {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(at(x, y), (y * width + x) * 4);
  }
  return sharp(data, { raw: { width, height, channels: 4 } });
}

/** Green bands on top and bottom quarters; in between the left half red, the right half blue. */
function bandedHalves(width: number, height: number): Sharp {
  return paint(width, height, (x, y) => {
    if (y < height / 4 || y >= (3 * height) / 4) return [...GREEN, 255];
    return x < width / 2 ? [...RED, 255] : [...BLUE, 255];
  });
}

async function pixels(png: Buffer): Promise<{ width: number; height: number; channels: number; at: (x: number, y: number) => Rgb }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): Rgb => {
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
  return { width: info.width, height: info.height, channels: info.channels, at };
}

/** Colours compared with a tolerance: JPEG and resampling move them a little. */
function assertColour(actual: Rgb, expected: Rgb, where: string): void {
  const off = Math.max(...actual.map((c, i) => Math.abs(c - expected[i]!)));
  assert.ok(off <= 48, `${where}: expected ~${expected.join(',')}, got ${actual.join(',')}`);
}

async function refused(bytes: Buffer, code: UserErrorCode, params: Record<string, string | number> = {}, limits = LIMITS): Promise<void> {
  await assert.rejects(prepareImage(bytes, VIDEO, limits), (err: unknown) => {
    assert.ok(err instanceof UserFacingError, `expected UserFacingError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.deepEqual(err.params, params);
    // The catalogue's words only: nothing of libvips' own error text reaches a person.
    assert.equal(err.message, text(code, params));
    return true;
  });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  const chunks: { type: string; data: Buffer }[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    chunks.push({ type: png.toString('latin1', offset + 4, offset + 8), data: png.subarray(offset + 8, offset + 8 + length) });
    offset += 12 + length;
  }
  return chunks;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A header claiming width x height RGB with one tiny (wrong-sized) IDAT: what a decompression bomb's header looks like. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(64))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** sharp cannot write APNG: a two-frame one assembled from a sharp PNG (acTL, fcTL + IDAT, fcTL + fdAT). */
async function animatedPng(): Promise<Buffer> {
  const still = await sharp({ create: { width: 200, height: 200, channels: 3, background: 'red' } }).png().toBuffer();
  const chunks = pngChunks(still);
  const ihdr = chunks.find((c) => c.type === 'IHDR')!.data;
  const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  const fctl = (sequence: number) => {
    const data = Buffer.alloc(26);
    data.writeUInt32BE(sequence, 0);
    data.writeUInt32BE(200, 4);
    data.writeUInt32BE(200, 8);
    data.writeUInt16BE(1, 20); // delay 1/10 s
    data.writeUInt16BE(10, 22);
    return pngChunk('fcTL', data);
  };
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(2, 0); // two frames, looping forever
  const fdat = Buffer.concat([Buffer.from([0, 0, 0, 2]), idat]);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('acTL', actl),
    fctl(0),
    pngChunk('IDAT', idat),
    fctl(1),
    pngChunk('fdAT', fdat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('prepareImage: accepted pictures become the video first frame', () => {
  test('a landscape JPEG comes out exactly the target size, 8-bit RGB, centre kept (both sizes)', async () => {
    const jpeg = await bandedHalves(800, 600).jpeg({ quality: 95 }).toBuffer();
    for (const target of [VIDEO, TINY]) {
      const prepared = await prepareImage(jpeg, target, LIMITS);
      assert.deepEqual([prepared.width, prepared.height], [target.width, target.height]);
      assert.deepEqual(prepared.source, { format: 'jpeg', width: 800, height: 600 });
      const meta = await sharp(prepared.png).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.depth, meta.space, meta.hasAlpha], ['png', target.width, target.height, 3, 'uchar', 'srgb', false]);
      const out = await pixels(prepared.png);
      const { width: w, height: h } = target;
      // 800x600 -> cover 720x480 (or 64x32) crops top and bottom evenly: green bands survive on both edges, halves in the middle.
      assertColour(out.at(Math.floor(w / 4), 0), GREEN, `${w}x${h} top edge`);
      assertColour(out.at(Math.floor(w / 4), h - 1), GREEN, `${w}x${h} bottom edge`);
      assertColour(out.at(Math.floor(w / 4), Math.floor(h / 2)), RED, `${w}x${h} left middle`);
      assertColour(out.at(Math.floor((3 * w) / 4), Math.floor(h / 2)), BLUE, `${w}x${h} right middle`);
    }
  });

  test('a portrait PNG with alpha is cropped to its centre and comes out opaque RGB', async () => {
    // 600x900: transparent top and bottom sixths, red|blue between. Cover to 720x480 keeps rows 250..650 only.
    const png = await paint(600, 900, (x, y) => (y < 150 || y >= 750 ? [0, 0, 0, 0] : x < 300 ? [...RED, 255] : [...BLUE, 255]))
      .png()
      .toBuffer();
    for (const target of [VIDEO, TINY]) {
      const prepared = await prepareImage(png, target, LIMITS);
      const out = await pixels(prepared.png);
      assert.deepEqual([out.width, out.height, out.channels], [target.width, target.height, 3]);
      for (const y of [0, Math.floor(target.height / 2), target.height - 1]) {
        assertColour(out.at(2, y), RED, `${target.width}x${target.height} left, row ${y}`);
        assertColour(out.at(target.width - 3, y), BLUE, `${target.width}x${target.height} right, row ${y}`);
      }
    }
  });

  test(`transparent pixels are flattened onto white (${FLATTEN_BACKGROUND})`, async () => {
    const png = await paint(400, 400, (x) => (x < 200 ? [0, 0, 0, 0] : [...BLUE, 255])).png().toBuffer();
    const out = await pixels((await prepareImage(png, VIDEO, LIMITS)).png);
    assert.equal(FLATTEN_BACKGROUND, '#ffffff');
    assertColour(out.at(100, 240), WHITE, 'clear half');
    assertColour(out.at(620, 240), BLUE, 'opaque half');
  });

  test('a JPEG stored sideways with EXIF orientation 6 comes out upright', async () => {
    // Upright: 800x600, top half red, bottom half blue. Stored rotated a quarter turn back, tagged "rotate 90 to view".
    const upright = await paint(800, 600, (_x, y) => (y < 300 ? [...RED, 255] : [...BLUE, 255])).png().toBuffer();
    const sideways = await sharp(upright).rotate(-90).png().toBuffer();
    const jpeg = await sharp(sideways).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    const stored = await sharp(jpeg).metadata();
    assert.deepEqual([stored.orientation, stored.width, stored.height], [6, 600, 800]);

    const prepared = await prepareImage(jpeg, VIDEO, LIMITS);
    assert.deepEqual(prepared.source, { format: 'jpeg', width: 800, height: 600 });
    const out = await pixels(prepared.png);
    for (const x of [60, 360, 660]) {
      assertColour(out.at(x, 60), RED, `top, column ${x}`);
      assertColour(out.at(x, 420), BLUE, `bottom, column ${x}`);
    }
  });

  test('a WebP still is accepted', async () => {
    const webp = await bandedHalves(640, 480).webp({ quality: 95 }).toBuffer();
    const fromWebp = await prepareImage(webp, VIDEO, LIMITS);
    assert.deepEqual(fromWebp.source, { format: 'webp', width: 640, height: 480 });
    assertColour((await pixels(fromWebp.png)).at(100, 240), RED, 'webp left middle');
  });

  test('greyscale, 16-bit and CMYK pictures all come out 8-bit sRGB with three channels', async () => {
    const deep = await bandedHalves(400, 300).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    const cmyk = await bandedHalves(400, 300).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    for (const [name, input] of [['16-bit PNG', deep], ['CMYK JPEG', cmyk]] as const) {
      const prepared = await prepareImage(input, VIDEO, LIMITS);
      const meta = await sharp(prepared.png).metadata();
      assert.deepEqual([meta.channels, meta.depth, meta.space], [3, 'uchar', 'srgb'], name);
      assertColour((await pixels(prepared.png)).at(100, 240), RED, `${name} left middle`);
    }

    const grey = await sharp(Buffer.alloc(300 * 200, 128), { raw: { width: 300, height: 200, channels: 1 } }).png().toBuffer();
    const fromGrey = await pixels((await prepareImage(grey, TINY, LIMITS)).png);
    assert.equal(fromGrey.channels, 3);
    assertColour(fromGrey.at(10, 10), [128, 128, 128], 'grey');
  });

  test('sha256 is the hex digest of the PNG, and the same picture gives the same bytes', async () => {
    const jpeg = await bandedHalves(800, 600).jpeg().toBuffer();
    const a = await prepareImage(jpeg, VIDEO, LIMITS);
    const b = await prepareImage(jpeg, VIDEO, LIMITS);
    assert.equal(a.sha256, createHash('sha256').update(a.png).digest('hex'));
    assert.match(a.sha256, /^[0-9a-f]{64}$/);
    assert.equal(b.sha256, a.sha256);
  });

  test('imageLimits reads the three settings', () => {
    assert.deepEqual(imageLimits({ IMAGE_MAX_BYTES: 1000, IMAGE_MIN_SIDE: 64, IMAGE_MAX_MEGAPIXELS: 12.5 }), { maxBytes: 1000, minSide: 64, maxMegapixels: 12.5 });
  });
});

describe('prepareImage: refusals, by the bytes alone', () => {
  // Only bytes reach prepareImage: a file "named photo.png" or declared image/png is judged by its content, so these
  // stand for a text file or a web page sent under a picture's name.
  test('text, an HTML page, a PDF and an SVG are not pictures', async () => {
    await refused(Buffer.from('hello'), 'image_not_image');
    await refused(Buffer.from('<!doctype html>\n<html><head><title>photo.png</title></head><body><img src="x.png"></body></html>\n'), 'image_not_image');
    await refused(Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'), 'image_not_image');
    await refused(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="red"/></svg>'), 'image_not_image');
    await refused(Buffer.alloc(0), 'image_not_image');
  });

  test('GIF and TIFF are refused as formats not accepted, even as stills', async () => {
    const still = () => sharp({ create: { width: 300, height: 300, channels: 3, background: 'red' } });
    await refused(await still().gif().toBuffer(), 'image_not_image');
    await refused(await still().tiff().toBuffer(), 'image_not_image');
  });

  test('a truncated JPEG and a PNG signature before garbage are not pictures', async () => {
    const jpeg = await bandedHalves(800, 600).jpeg().toBuffer();
    await refused(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'image_not_image');
    await refused(Buffer.concat([PNG_SIGNATURE, Buffer.from('not a chunk at all, just text')]), 'image_not_image');
  });

  test('a 1x1 PNG is too small', async () => {
    const dot = await sharp({ create: { width: 1, height: 1, channels: 3, background: 'red' } }).png().toBuffer();
    await refused(dot, 'image_too_small', { width: 1, height: 1, min: 128 });
    const strip = await sharp({ create: { width: 1000, height: 100, channels: 3, background: 'red' } }).png().toBuffer();
    await refused(strip, 'image_too_small', { width: 1000, height: 100, min: 128 });
  });

  test('more bytes than the limit is too big, before anything is decoded', async () => {
    const jpeg = await bandedHalves(800, 600).jpeg().toBuffer();
    await refused(jpeg, 'image_too_big', { size: `${Math.ceil(jpeg.length / 1024)} KB`, max: `${Math.ceil((jpeg.length - 1) / 1024)} KB` }, { ...LIMITS, maxBytes: jpeg.length - 1 });
    await refused(Buffer.alloc(LIMITS.maxBytes + 1), 'image_too_big', { size: '10.0 MB', max: '10.0 MB' });
  });

  test('a header claiming 20000x20000 is refused from the header alone (a bomb never decodes)', async () => {
    const bomb = pngHeaderOnly(20000, 20000);
    const started = performance.now();
    await refused(bomb, 'image_too_many_pixels', { width: 20000, height: 20000, max: 40 });
    assert.ok(performance.now() - started < 2000, 'refused without decoding 400 megapixels');
  });

  test('a real picture over the megapixel limit is refused with its size', async () => {
    const big = await sharp({ create: { width: 2500, height: 2000, channels: 3, background: 'red' } }).png().toBuffer();
    await refused(big, 'image_too_many_pixels', { width: 2500, height: 2000, max: 4.5 }, { ...LIMITS, maxMegapixels: 4.5 });
  });

  test('an animated WebP is refused as animated', async () => {
    // Three 200x200 frames stacked in one tall image; pageHeight makes them frames.
    const tall = Buffer.alloc(200 * 600 * 3);
    for (let i = 0; i < tall.length; i++) tall[i] = Math.floor(i / (200 * 200 * 3)) * 100;
    const webp = await sharp(tall, { raw: { width: 200, height: 600, channels: 3, pageHeight: 200 } }).webp({ delay: [100, 100, 100] }).toBuffer();
    assert.equal((await sharp(webp).metadata()).pages, 3);
    await refused(webp, 'image_animated');
  });

  test('an animated PNG (APNG) is refused as animated', async () => {
    const apng = await animatedPng();
    // libvips reads only the default image of an APNG: the chunk walk is what tells it apart.
    assert.equal((await sharp(apng).metadata()).pages ?? 1, 1);
    await refused(apng, 'image_animated');
  });
});
