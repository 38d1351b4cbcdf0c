// Queue ETAs: each job ahead priced at its own preset's recorded duration, each running job by its remaining
// steps, spread over the live workers in the order they will take them.
import type { JobEvent } from './job-events.ts';
import type { PresetTiming } from './job-durations.ts';
import { waitingInOrder } from './queue-order.ts';
import type { VideoQueue } from './video-queue.ts';

export type { PresetTiming } from './job-durations.ts';

export interface RunningJob {
  preset: string;
  /** The job's last reported progress (stage, step i of n); null before its first report. */
  progress: JobEvent | null;
}

export interface QueueSnapshot {
  /** Presets of the waiting jobs ahead, the next to run first. */
  ahead: string[];
  running: RunningJob[];
  /** Workers pulling from the queue (at least the running jobs' workers are counted). */
  workers: number;
}

/** What a job of `preset` takes, recorded or guessed; never null. */
export type TimingOf = (preset: string) => PresetTiming;

/** Seconds a running job still needs: the steps not yet done, then what follows the denoising (decode, MP4, upload). */
export function remainingSeconds(timing: PresetTiming, progress: JobEvent | null): number {
  const denoise = Math.min(timing.denoiseS ?? timing.totalS, timing.totalS);
  const after = timing.totalS - denoise;
  switch (progress?.stage ?? 'starting') {
    case 'queued':
    case 'starting':
      return timing.totalS;
    case 'generating': {
      const steps = progress?.stage === 'generating' ? progress.steps : 0;
      const done = progress?.stage === 'generating' && steps > 0 ? Math.min(1, Math.max(0, progress.step / steps)) : 0;
      return denoise * (1 - done) + after;
    }
    case 'decoding':
      return after;
    // Past the decode only the MP4 and the upload are left: a small share of the tail, taken as half.
    case 'encoding':
    case 'uploading':
      return after / 2;
    case 'done':
    case 'failed':
    case 'cancelled':
      return 0;
  }
}

/**
 * Seconds until a job of `ownPreset` behind `snapshot.ahead` is done: every worker is free once its running job
 * ends; each job ahead goes, in order, to the worker free first; then ours does.
 */
export function estimateSeconds(snapshot: QueueSnapshot, ownPreset: string, timingOf: TimingOf): number {
  const freeAt = snapshot.running.map((job) => remainingSeconds(timingOf(job.preset), job.progress));
  while (freeAt.length < Math.max(1, snapshot.workers)) freeAt.push(0);
  const takeEarliest = (seconds: number): number => {
    let best = 0;
    for (let i = 1; i < freeAt.length; i++) if (freeAt[i]! < freeAt[best]!) best = i;
    const start = freeAt[best]!;
    freeAt[best] = start + seconds;
    return start;
  };
  for (const preset of snapshot.ahead) takeEarliest(timingOf(preset).totalS);
  const own = timingOf(ownPreset).totalS;
  return takeEarliest(own) + own;
}

/**
 * Jobs ahead, and running jobs, read one by one for an ETA; past this many the rest are taken to look like those
 * read. Reading them all made every /video cost one Redis read per waiting job and per running one (the fleet
 * benchmark: 700 reads per command at 2,000 waiting, answers near Discord's 3 s); this keeps a command's cost flat.
 */
export const ETA_JOBS_READ = 50;

/** `sample` repeated in order until it is `length` long (the unread jobs taken to look like the read ones). */
function extend<T>(sample: T[], length: number): T[] {
  if (sample.length === 0) return [];
  return Array.from({ length }, (_, i) => sample[i % sample.length]!);
}

/** Reads the queue as it stands for a job at `position` (1 = next): presets ahead, running jobs, workers. */
export async function readQueueSnapshot(queue: VideoQueue, position: number): Promise<QueueSnapshot> {
  const aheadCount = Math.max(0, position - 1);
  const aheadIds = await waitingInOrder(queue, Math.min(aheadCount, ETA_JOBS_READ));
  const [aheadData, active, activeCount, workers] = await Promise.all([
    Promise.all(aheadIds.map((id) => queue.redis.hget(queue.queue.toKey(id), 'data'))),
    queue.queue.getActive(0, ETA_JOBS_READ - 1),
    queue.queue.getActiveCount(),
    queue.queue.getWorkersCount().catch(() => 1),
  ]);
  const presetOf = (data: unknown): string => (typeof data === 'object' && data !== null && typeof (data as { preset?: unknown }).preset === 'string' ? (data as { preset: string }).preset : '');
  const readAhead = aheadData.map((raw) => {
    try {
      return presetOf(JSON.parse(raw ?? 'null'));
    } catch {
      return '';
    }
  });
  const ahead = extend(readAhead, aheadCount);
  const running = extend(
    active.map((job) => ({ preset: presetOf(job.data), progress: progressOf(job.progress) })),
    Math.max(active.length, activeCount),
  );
  return { ahead, running, workers: Math.max(workers, running.length) };
}

/** Seconds until a job of `presetName` at `position` is done, from the queue as it stands and recorded timings. */
export async function queueEta(queue: VideoQueue, position: number, presetName: string, guess: TimingOf): Promise<number> {
  const snapshot = await readQueueSnapshot(queue, position);
  const recorded = await queue.durations.timings([presetName, ...snapshot.ahead, ...snapshot.running.map((r) => r.preset)]);
  return Math.round(estimateSeconds(snapshot, presetName, (preset) => recorded.get(preset) ?? guess(preset)));
}

function progressOf(progress: unknown): JobEvent | null {
  if (typeof progress !== 'object' || progress === null || typeof (progress as { stage?: unknown }).stage !== 'string') return null;
  return progress as JobEvent;
}
