// A picture a person sent -> the first frame CogVideoX-I2V expects: checked by its bytes, upright, sRGB, exactly the video's shape.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Env } from '../../config/env.ts';
import { UserFacingError } from '../core/errors.ts';
import { imageTooBig } from '../core/image-upload.ts';

export interface ImageLimits {
  /** Largest file accepted, in bytes (IMAGE_MAX_BYTES). */
  maxBytes: number;
  /** Smallest width or height accepted, in pixels (IMAGE_MIN_SIDE). */
  minSide: number;
  /** Most pixels accepted, in millions, read from the header before any decoding (IMAGE_MAX_MEGAPIXELS). */
  maxMegapixels: number;
}

export function imageLimits(env: Pick<Env, 'IMAGE_MAX_BYTES' | 'IMAGE_MIN_SIDE' | 'IMAGE_MAX_MEGAPIXELS'>): ImageLimits {
  return { maxBytes: env.IMAGE_MAX_BYTES, minSide: env.IMAGE_MIN_SIDE, maxMegapixels: env.IMAGE_MAX_MEGAPIXELS };
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface PreparedImage {
  /** 8-bit RGB PNG (no alpha), exactly width x height. */
  png: Buffer;
  /** sha256 of `png`, lowercase hex. */
  sha256: string;
  width: number;
  height: number;
  /** What was sent: the format read from its bytes and its upright size. */
  source: { format: ImageFormat; width: number; height: number };
}

/** Transparent pixels become white: cut-outs and dark-on-clear logos look the way viewers show them. */
export const FLATTEN_BACKGROUND = '#ffffff';

/**
 * Checks `bytes` by their content only (never a file name or a declared MIME type) and makes the video's first frame.
 * Throws UserFacingError: image_too_big, image_not_image (anything but a JPEG, PNG or WebP still, or unreadable),
 * image_animated, image_too_many_pixels (from the header, before decoding), image_too_small.
 */
export async function prepareImage(bytes: Buffer, target: { width: number; height: number }, limits: ImageLimits): Promise<PreparedImage> {
  checkTarget(target);
  // 1. Size and kind before libvips sees anything: no SVG, PDF or HEIF parser ever runs on what a person sent.
  if (bytes.length > limits.maxBytes) throw imageTooBig(bytes.length, limits.maxBytes);
  const format = sniffFormat(bytes);
  if (!format) throw new UserFacingError('image_not_image');
  if (format === 'png' && isAnimatedPng(bytes)) throw new UserFacingError('image_animated');

  // 2. The header: its format must agree with the bytes' signature; animation, pixel count and sides are refused here.
  const maxPixels = Math.floor(limits.maxMegapixels * 1_000_000);
  // failOn 'truncated': a cut-off upload is refused, a phone's harmless decoder warning is not.
  const options = { failOn: 'truncated', limitInputPixels: maxPixels, autoOrient: true } as const;
  // The header is read without the pixel limit so that a huge one is named as such, not as "not a picture".
  const header = await sharp(bytes, { ...options, limitInputPixels: false })
    .metadata()
    .catch(() => null);
  if (!header || header.format !== format) throw new UserFacingError('image_not_image');
  if ((header.pages ?? 1) > 1) throw new UserFacingError('image_animated');
  const { width, height } = header.autoOrient;
  if (width * height > maxPixels) throw new UserFacingError('image_too_many_pixels', { width, height, max: limits.maxMegapixels });
  if (Math.min(width, height) < limits.minSide) throw new UserFacingError('image_too_small', { width, height, min: limits.minSide });

  // 3. Decode (bounded by limitInputPixels), upright, alpha flattened, sRGB 8-bit, centre-cropped to the video's shape.
  const png = await sharp(bytes, options)
    .flatten({ background: FLATTEN_BACKGROUND })
    .resize(target.width, target.height, { fit: 'cover', position: 'centre' })
    .toColourspace('srgb')
    .png()
    .toBuffer()
    .catch(() => {
      // A truncated or corrupt body behind a good header: the code only, libvips' own words are not for a person.
      throw new UserFacingError('image_not_image');
    });
  return {
    png,
    sha256: createHash('sha256').update(png).digest('hex'),
    width: target.width,
    height: target.height,
    source: { format, width, height },
  };
}

function checkTarget(target: { width: number; height: number }): void {
  for (const side of ['width', 'height'] as const) {
    if (!Number.isInteger(target[side]) || target[side] < 1) throw new RangeError(`prepareImage: target.${side} must be a positive integer, got ${target[side]}`);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The accepted formats by their magic bytes; null for everything else. */
export function sniffFormat(bytes: Buffer): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

/**
 * APNG: an acTL chunk before the first IDAT announcing more than one frame. libvips reads only an APNG's default
 * image and reports one page, so the chunks are walked here.
 */
export function isAnimatedPng(bytes: Buffer): boolean {
  let offset = PNG_SIGNATURE.length;
  while (offset + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (type === 'IDAT' || type === 'IEND') return false;
    if (type === 'acTL') return offset + 12 <= bytes.length && bytes.readUInt32BE(offset + 8) > 1;
    offset += 12 + length;
  }
  return false;
}
