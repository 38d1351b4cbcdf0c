// Reads an MP4 back with ffprobe: codec, size, pixel format, frame count and frame rate.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface ProbedVideo {
  codec: string;
  width: number;
  height: number;
  pixFmt: string;
  frames: number;
  fps: number;
}

export async function probeVideo(path: string): Promise<ProbedVideo> {
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_streams', '-of', 'json', path]);
  const stream = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams[0];
  if (!stream) throw new Error(`no video stream in ${path}`);
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
