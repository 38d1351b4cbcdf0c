// Pictures for the image-to-video tests, made with sharp in the test: no binary fixture is committed.
import sharp from 'sharp';

/** A 256x160 photo of two colour bands: two of them differ everywhere the model looks (after the 64x32 crop too). */
export async function bandedPhoto(left: string, right: string): Promise<Buffer> {
  const half = (colour: string) => sharp({ create: { width: 128, height: 160, channels: 3, background: colour } }).png().toBuffer();
  return sharp({ create: { width: 256, height: 160, channels: 3, background: '#000000' } })
    .composite([
      { input: await half(left), left: 0, top: 0 },
      { input: await half(right), left: 128, top: 0 },
    ])
    .png()
    .toBuffer();
}
