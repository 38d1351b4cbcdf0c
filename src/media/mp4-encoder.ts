// Raw rgb24 frames -> H.264 MP4 (yuv420p, +faststart). fluent-ffmpeg is archived upstream: it lives only here.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import ffmpeg from 'fluent-ffmpeg';

export interface RawVideo {
  framesPath: string;
  width: number;
  height: number;
  frames: number;
  fps: number;
}

export interface EncodeOptions {
  /** x264 constant rate factor: lower is better quality and bigger. */
  crf?: number;
  /** Caps the bitrate, for re-encoding a clip to fit an upload limit. */
  maxBitrateKbps?: number;
}

export class FfmpegMissingError extends Error {
  override name = 'FfmpegMissingError';
}

const run = promisify(execFile);

/** Fails with one clear line when ffmpeg/ffprobe are not installed (Debian: apt-get install ffmpeg). */
export async function assertFfmpegAvailable(): Promise<string> {
  try {
    const { stdout } = await run(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-version']);
    await run(process.env.FFPROBE_PATH ?? 'ffprobe', ['-hide_banner', '-version']);
    return stdout.split('\n')[0] ?? 'ffmpeg';
  } catch {
    throw new FfmpegMissingError('ffmpeg and ffprobe are required but were not found on PATH (Debian/Ubuntu: apt-get install ffmpeg)');
  }
}

/** Encodes raw frames to `outPath`; resolves with the file size in bytes. */
export async function encodeMp4(video: RawVideo, outPath: string, options: EncodeOptions = {}): Promise<number> {
  const expected = video.width * video.height * 3 * video.frames;
  const actual = (await stat(video.framesPath)).size;
  if (actual !== expected) throw new Error(`frames file holds ${actual} bytes, expected ${expected} (${video.frames} frames of ${video.width}x${video.height})`);
  const outputOptions = ['-pix_fmt yuv420p', '-movflags +faststart', `-crf ${options.crf ?? 18}`, '-preset medium', `-r ${video.fps}`];
  if (options.maxBitrateKbps) outputOptions.push(`-maxrate ${options.maxBitrateKbps}k`, `-bufsize ${options.maxBitrateKbps * 2}k`);
  await new Promise<void>((resolve, reject) => {
    ffmpeg(video.framesPath)
      .inputOptions(['-f rawvideo', '-pix_fmt rgb24', `-s ${video.width}x${video.height}`, `-r ${video.fps}`])
      .videoCodec('libx264')
      .outputOptions(outputOptions)
      .noAudio()
      .format('mp4')
      .on('error', (err: Error, _stdout: string | null, stderr: string | null) =>
        reject(new Error(`ffmpeg failed: ${err.message}${stderr ? ` (${stderr.trim().split('\n').slice(-2).join(' ')})` : ''}`)),
      )
      .on('end', () => resolve())
      .save(outPath);
  });
  return (await stat(outPath)).size;
}

/**
 * The smooth post-process: twice the frame rate by motion-compensated interpolation (ffmpeg's minterpolate,
 * mci with bidirectional motion estimation), the same duration; resolves with the new size.
 */
export async function smoothMp4(inPath: string, outPath: string, fps: number, frames: number, options: EncodeOptions = {}): Promise<number> {
  // minterpolate only fills between frames: the last frame is repeated (tpad) so the last interval is filled too,
  // and the result trimmed to the clip's own duration (frames / fps), i.e. exactly 2 x frames at 2 x fps.
  const durationS = frames / fps;
  await new Promise<void>((resolve, reject) => {
    ffmpeg(inPath)
      .videoFilters([`tpad=stop_mode=clone:stop=2`, `minterpolate=fps=${fps * 2}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir`, `trim=duration=${durationS}`])
      .videoCodec('libx264')
      .outputOptions(['-pix_fmt yuv420p', '-movflags +faststart', `-crf ${options.crf ?? 18}`, '-preset medium'])
      .noAudio()
      .format('mp4')
      .on('error', (err: Error, _stdout: string | null, stderr: string | null) =>
        reject(new Error(`ffmpeg failed: ${err.message}${stderr ? ` (${stderr.trim().split('\n').slice(-2).join(' ')})` : ''}`)),
      )
      .on('end', () => resolve())
      .save(outPath);
  });
  return (await stat(outPath)).size;
}

/** Re-encodes an MP4 to fit `maxBytes` (for chat upload limits); resolves with the new size. */
export async function shrinkMp4(inPath: string, outPath: string, durationS: number, maxBytes: number): Promise<number> {
  // 90% of the budget for video, leaving room for the container.
  const kbps = Math.max(50, Math.floor((maxBytes * 8 * 0.9) / 1000 / Math.max(durationS, 0.1)));
  await new Promise<void>((resolve, reject) => {
    ffmpeg(inPath)
      .videoCodec('libx264')
      .outputOptions(['-pix_fmt yuv420p', '-movflags +faststart', `-b:v ${kbps}k`, `-maxrate ${kbps}k`, `-bufsize ${kbps}k`])
      .noAudio()
      .on('error', (err: Error) => reject(new Error(`ffmpeg failed: ${err.message}`)))
      .on('end', () => resolve())
      .save(outPath);
  });
  return (await stat(outPath)).size;
}
