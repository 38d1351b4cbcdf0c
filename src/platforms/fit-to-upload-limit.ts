// Makes a clip fit a platform's upload limit, for every platform: as is, re-encoded at a lower bitrate, or
// refused with a clear reason (UnrecoverableError: a retry of the job cannot make it fit).
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { text } from '../core/texts.ts';
import { shrinkMp4 } from '../media/mp4-encoder.ts';
import type { DeliverableVideo } from './platform.ts';

export interface FittedClip {
  path: string;
  bytes: number;
  /** Shown to the user when the clip had to be changed to fit. */
  note?: string;
}

export function formatSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The clip as is when it fits; else a re-encoded copy at `scratchPath` (the caller deletes it). */
export async function fitToUploadLimit(
  video: Pick<DeliverableVideo, 'path' | 'bytes' | 'durationS'>,
  limitBytes: number,
  scratchPath: string,
  platformName: string,
  /** The requester's language, for the note. */
  locale?: string,
): Promise<FittedClip> {
  if (video.bytes <= limitBytes) return { path: video.path, bytes: video.bytes };
  const over = `the clip (${formatSize(video.bytes)}) is over ${platformName}'s ${formatSize(limitBytes)} upload limit`;
  let bytes = Infinity;
  try {
    // Aim under the limit: the bitrate cap is an average and the container adds a little. Short clips can
    // overshoot (the first keyframe dominates), so a second pass aims lower by the overshoot.
    let aim = Math.floor(limitBytes * 0.9);
    await mkdir(dirname(scratchPath), { recursive: true }); // only a clip that needs shrinking makes a folder
    for (let pass = 0; pass < 2 && bytes > limitBytes; pass++) {
      bytes = await shrinkMp4(video.path, scratchPath, video.durationS, aim);
      aim = Math.floor((aim * limitBytes * 0.9) / bytes);
    }
  } catch (err) {
    await rm(scratchPath, { force: true });
    throw new UnrecoverableError(`${over} and re-encoding it failed (${(err as Error).message})`);
  }
  if (bytes > limitBytes) {
    await rm(scratchPath, { force: true });
    throw new UnrecoverableError(`${over}, even re-encoded (${formatSize(bytes)})`);
  }
  const note = text('delivery.reencoded_to_fit', { from: formatSize(video.bytes), to: formatSize(bytes), platform: platformName, limit: formatSize(limitBytes) }, locale);
  return { path: scratchPath, bytes, note };
}
