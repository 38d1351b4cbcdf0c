// Reads videos back with ffprobe, the one way tests and fakes look inside an MP4: codec, size, pixel format,
// frame count, frame rate and duration.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface ProbedVideo {
  codec: string;
  width: number;
  height: number;
  pixFmt: string;
  frames: number;
  fps: number;
}

/** What a chat platform reads from an uploaded video (Telegram's Video object: width, height, duration). */
export interface VideoShape {
  width: number;
  height: number;
  durationS: number;
}

async function ffprobeStream(path: string, countFrames: boolean): Promise<Record<string, string | number> | undefined> {
  const args = ['-v', 'error', ...(countFrames ? ['-count_frames'] : []), '-select_streams', 'v:0', '-show_streams', '-of', 'json', path];
  const { stdout } = await promisify(execFile)('ffprobe', args);
  return (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams[0];
}

function described(stream: Record<string, string | number>): ProbedVideo {
  const [num, den] = String(stream.r_frame_rate).split('/').map(Number);
  return {
    codec: String(stream.codec_name),
    width: Number(stream.width),
    height: Number(stream.height),
    pixFmt: String(stream.pix_fmt),
    frames: Number(stream.nb_read_frames),
    fps: (num ?? 0) / (den || 1),
  };
}

/** Every field, frames counted by decoding (slow on long clips, exact). */
export async function probeVideo(path: string): Promise<ProbedVideo> {
  const stream = await ffprobeStream(path, true);
  if (!stream) throw new Error(`no video stream in ${path}`);
  return described(stream);
}

/** Bytes held in memory (an upload a fake received); undefined when they are not a video ffprobe can read. */
export async function probeVideoBytes(bytes: Buffer): Promise<VideoShape | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'cogcast-probe-'));
  try {
    const path = join(dir, 'upload');
    await writeFile(path, bytes);
    const stream = await ffprobeStream(path, false).catch(() => undefined);
    return stream ? { width: Number(stream.width), height: Number(stream.height), durationS: Number(stream.duration ?? 0) } : undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every frame of the video decoded to raw RGB24, one buffer: two clips show the same pictures when these are equal. */
export async function decodedFrames(path: string): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}
