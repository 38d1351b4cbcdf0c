// The BullMQ processor: one video job from payload to posted MP4, with stats, retries and cancellation.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { PresetBook } from '../../config/presets.ts';
import type { UserErrorCode } from '../../src/core/errors.ts';
import type { UserQuota } from '../../src/core/quota.ts';
import type { JobStats } from '../../src/core/stats.ts';
import { startPosting, wasCancelled } from '../../src/queue/job-cancellation.ts';
import { JOB_PAYLOAD_VERSION, type JobRequest, type JobResult, jobResultSchema, parseJobRequest } from '../../src/queue/job-contract.ts';
import type { JobEvent, JobEvents } from '../../src/queue/job-events.ts';
import { refreshQueuePositions } from '../../src/queue/queue-positions.ts';
import type { VideoQueue } from '../../src/queue/video-queue.ts';
import type { PlatformOutbounds } from '../../src/platforms/configured-outbounds.ts';
import type { DeliverableVideo, PlatformOutbound } from '../../src/platforms/platform.ts';
import { type DeliveryMarker, jobLock } from './delivery-marker.ts';
import { postOnce } from './deliver-once.ts';
import type { EngineClient } from '../engine-client/engine-client.ts';
import { EngineCancelledError, EngineDeadError, EngineGenerateError } from '../engine-client/engine-errors.ts';
import { assertDiskSpace, removeJobLeftovers } from './janitor.ts';
import { encodeMp4, smoothMp4 } from '../../src/media/mp4-encoder.ts';
import { type ResultCache, resultKey } from './result-cache.ts';
import { type JobLockWatch, LockLostError, type LockWatch } from './job-lock.ts';
import { writeOwnedProgress } from './owned-progress.ts';
import { StepProgress } from './step-progress.ts';
import type { JobImages } from '../../src/queue/job-images.ts';
import { UserFacingError } from '../../src/core/errors.ts';

export interface VideoProcessorDeps {
  engine: EngineClient;
  presets: PresetBook;
  queue: VideoQueue;
  /** The platforms' outbound side (the clip's delivery), reached through its one registry. */
  outbounds: PlatformOutbounds;
  /** Where every stage of a job is published; the status message follows these events only. */
  events: JobEvents;
  marker: DeliveryMarker;
  cache: ResultCache;
  /** Image-to-video jobs' pictures, stored by the bot under the job id. */
  images: JobImages;
  quota: UserQuota;
  model: string;
  /** The tiny demo model: every clip's stats say so (its clips are noise). */
  demoModel?: boolean;
  workDir: string;
  outputDir: string;
  workerId: string;
  /** Free space kept in workDir beyond what a job's frames and MP4 need. */
  minFreeDiskBytes: number;
  /** Follows the BullMQ Worker's lock renewals; without it only Redis's own lock checks stop a lost attempt. */
  lockWatch?: LockWatch;
  /** Told when an attempt is given up because another worker owns the job now. */
  onDiscarded?: (jobId: string, reason: string) => void;
  log: Logger;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

export function createVideoProcessor(deps: VideoProcessorDeps): Processor<JobRequest, JobResult> {
  return async (job, token, signal) => {
    const jobId = job.id ?? '';
    let request: JobRequest;
    try {
      request = parseJobRequest(job.data);
    } catch (err) {
      throw new UnrecoverableError((err as Error).message);
    }
    // Redis may be shared across hosts: a job id becomes a folder name here, so it must be the request's own UUID.
    if (jobId !== request.requestId) throw new UnrecoverableError('job id is not the request id: refused before touching any file');
    const owner = `${request.user.platform}:${request.user.id}`;
    const log = deps.log.child({ jobId, user: owner, platform: request.delivery.platform });
    const outbound = deps.outbounds.for(request.delivery.platform);
    // The clip is delivered as the status message's writer allows (Discord turns that message into the video).
    const slot = deps.outbounds.slotFor(request.delivery.platform);
    const delivery: Pick<PlatformOutbound, 'deliver' | 'showUploadTime'> = {
      deliver: (job, id, video) => outbound.deliver(job, id, video, slot),
      ...(outbound.showUploadTime ? { showUploadTime: (job, id, receipt, stats) => outbound.showUploadTime!(job, id, receipt, stats, slot) } : {}),
    };
    const attempt = Math.max(1, job.attemptsStarted ?? job.attemptsMade + 1);
    const publish = (event: JobEvent) => deps.events.publish({ jobId, request }, attempt, event);
    // This job just left the waiting list: the jobs behind it moved up.
    void refreshQueuePositions(deps.queue, deps.events).catch((err: Error) => log.debug({ err: err.message }, 'queue positions not refreshed'));
    const workDir = join(deps.workDir, `${jobId}-${job.attemptsStarted ?? job.attemptsMade}`);
    const watch = deps.lockWatch?.watch(jobId) ?? null;
    const stopped = watch ? AbortSignal.any([watch.signal, ...(signal ? [signal] : [])]) : signal;
    try {
      const result = await runJob(deps, job, jobId, request, delivery, publish, workDir, log, stopped, token, watch);
      await deps.quota.release(owner, request.requestId);
      return result;
    } catch (err) {
      // The job belongs to the worker that took it over: no failure message, no quota change, no retry from here.
      const lost = err instanceof LockLostError ? err : watch?.lost;
      if (lost) {
        log.warn({ reason: lost.message }, 'job lost to another worker: discarding this attempt');
        deps.onDiscarded?.(jobId, lost.message);
        throw lost;
      }
      const failure = classify(err);
      const final = failure.unrecoverable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: (err as Error).message, final, attempt: job.attemptsMade + 1 }, 'job failed');
      if (final) {
        // A final stage: waits until the status message shows it.
        await publish(failure.code === 'cancelled' ? { stage: 'cancelled' } : { stage: 'failed', reason: failure.code, detail: failure.message }).catch((err: Error) =>
          log.warn({ err: err.message }, 'the failure could not be shown'),
        );
        await deps.quota.release(owner, request.requestId);
      }
      throw failure.unrecoverable ? new UnrecoverableError(failure.message) : err;
    } finally {
      watch?.stop();
      await rm(workDir, { recursive: true, force: true });
      // An earlier attempt killed mid-job (its worker died) left its folder and upload copies behind.
      await removeJobLeftovers(deps.workDir, jobId).catch((err: Error) => log.warn({ err: err.message }, 'could not remove earlier attempts\' files'));
    }
  };
}

async function runJob(
  deps: VideoProcessorDeps,
  job: Job<JobRequest, JobResult>,
  jobId: string,
  request: JobRequest,
  delivery: Pick<PlatformOutbound, 'deliver' | 'showUploadTime'>,
  publish: (event: JobEvent) => Promise<unknown>,
  workDir: string,
  log: Logger,
  signal: AbortSignal | undefined,
  token: string | undefined,
  watch: JobLockWatch | null,
): Promise<JobResult> {
  const lock = jobLock(deps.queue.queue.toKey(jobId), token);
  const owned = token ? lock : null;
  const startedAt = Date.now();
  const delivered = await deps.marker.delivered(request.requestId);
  if (delivered) {
    log.info('already delivered by an earlier attempt: not posting again');
    return finishedEarlier(jobResultSchema.parse(delivered), publish);
  }
  if (signal?.aborted || (await wasCancelled(deps.queue, jobId))) throw new EngineCancelledError('cancelled');
  const preset = deps.presets.byName.get(request.preset);
  if (!preset) throw new UnrecoverableError(`preset "${request.preset}" is not configured on this worker`);

  const cacheId = resultKey(deps.model, request);
  const cached = await deps.cache.get(cacheId);
  // An earlier attempt died while posting this very clip: its post may be up, so the status message is left alone.
  const earlierAttempt = cached ? await deps.marker.abandonedClaim(request.requestId, lock) : null;
  // Only the attempt holding the lock moves the progress and the user's status message.
  const stillOurs = () => {
    if (watch?.lost) throw watch.lost;
  };
  // Each stage goes out twice: as BullMQ progress (the CLI, /gpu status and ETAs read it) and as a job event
  // (the status message follows it; a progress event returns at once, its writer paces the edit).
  const report = async (update: JobEvent) => {
    if (earlierAttempt) return;
    stillOurs();
    if ((await writeOwnedProgress(deps.queue.redis, job, owned, update)) === 'lock_lost') {
      watch?.lose('Redis holds another worker\'s lock');
      throw watch?.lost ?? new LockLostError(jobId, 'Redis holds another worker\'s lock');
    }
    stillOurs(); // the write may have waited out a cut link, long enough to lose the lock meanwhile
    await publish(update).catch((err: Error) => log.debug({ err: err.message, stage: update.stage }, 'job event not published'));
  };
  await report({ stage: 'starting', step: 0, steps: preset.steps });

  let video: DeliverableVideo;
  if (cached) {
    log.info('identical request: reusing the stored clip');
    const queueWaitS = seconds(startedAt - job.timestamp);
    const stats: JobStats = { ...cached.stats, cached: true, queueWaitS, deliveryS: null, endToEndS: seconds(Date.now() - job.timestamp), workerId: deps.workerId };
    const previousReceipt = cached.receipts[request.delivery.platform];
    video = { path: cached.path, bytes: cached.bytes, width: preset.width, height: preset.height, durationS: preset.frames / preset.fps, stats, ...(previousReceipt ? { previousReceipt } : {}), ...(earlierAttempt ? { earlierAttempt } : {}) };
  } else {
    await mkdir(workDir, { recursive: true });
    // Raw frames plus the MP4 (far smaller): twice the frames is a safe bound.
    await assertDiskSpace(deps.workDir, preset.width * preset.height * 3 * preset.frames * 2, deps.minFreeDiskBytes);
    const steps = new StepProgress(report);
    // Decoding ends the steps: the last step is shown first, then the decoding stage (never coalesced into a step).
    let decoding: Promise<void> | null = null;
    // Image-to-video: the picture the bot prepared, written under a name of ours in this job's folder.
    const image = request.image ? await writeJobImage(deps.images, jobId, workDir) : undefined;
    const engineResult = await deps.engine
      .generate(
        { job_id: jobId, prompt: request.prompt, negative_prompt: request.negativePrompt, preset: preset.name, seed: request.seed, output_dir: workDir, ...(image ? { image } : {}) },
        (step, total, stage) => {
          if (stage !== 'decoding') steps.push({ stage: 'generating', step, steps: total });
          else decoding ??= steps.close().then(() => report({ stage: 'decoding', step, steps: total })).catch(() => undefined);
        },
        signal,
      )
      .finally(() => {
        const closing = Promise.all([steps.close(), decoding]);
        return watch?.lost ? undefined : closing; // a write stuck on a cut link must not hold up the discard
      });
    // The engine finishes its decode whatever a cancel says: a cancel that came meanwhile stops the job here.
    if (signal?.aborted || (await wasCancelled(deps.queue, jobId))) throw new EngineCancelledError('cancelled');
    await report({ stage: 'encoding' });
    const encodeStart = Date.now();
    const tmpMp4 = join(workDir, 'video.mp4');
    const bytes = await encodeMp4(
      { framesPath: engineResult.frames_path, width: engineResult.width, height: engineResult.height, frames: engineResult.frames, fps: engineResult.fps },
      tmpMp4,
    );
    const mp4EncodeS = seconds(Date.now() - encodeStart);
    // smooth: the post-process doubles the frame rate (same duration), timed on its own.
    let clip = { path: tmpMp4, bytes, frames: engineResult.frames, fps: engineResult.fps, smoothS: undefined as number | undefined };
    if (request.smooth) {
      const smoothStart = Date.now();
      const smoothPath = join(workDir, 'smooth.mp4');
      const smoothBytes = await smoothMp4(tmpMp4, smoothPath, engineResult.fps, engineResult.frames);
      clip = { path: smoothPath, bytes: smoothBytes, frames: engineResult.frames * 2, fps: engineResult.fps * 2, smoothS: seconds(Date.now() - smoothStart) };
    }
    const storePath = deps.cache.pathOf(cacheId);
    await mkdir(join(deps.outputDir, 'results'), { recursive: true });
    await moveFile(clip.path, storePath);
    const stats: JobStats = {
      preset: preset.name,
      seed: request.seed,
      steps: preset.steps,
      width: engineResult.width,
      height: engineResult.height,
      frames: clip.frames,
      fps: clip.fps,
      queueWaitS: seconds(startedAt - job.timestamp),
      textEncodeS: engineResult.seconds.text_encode,
      denoiseS: engineResult.seconds.denoise,
      denoisePerStepS: engineResult.seconds.denoise / preset.steps,
      vaeDecodeS: engineResult.seconds.vae_decode,
      engineTotalS: engineResult.seconds.total,
      mp4EncodeS,
      ...(clip.smoothS === undefined ? {} : { smoothS: clip.smoothS }),
      deliveryS: null,
      endToEndS: seconds(Date.now() - job.timestamp),
      gpuName: engineResult.gpu_name,
      peakVramBytes: engineResult.peak_vram_bytes,
      gpuUtilMean: engineResult.gpu_util_mean,
      workerId: deps.workerId,
      cached: false,
      ...(deps.demoModel ? { demoModel: true } : {}),
    };
    await deps.cache.put(cacheId, clip.bytes, stats);
    await deps.queue.durations.record(preset.name, seconds(Date.now() - startedAt), engineResult.seconds.denoise);
    // The requester's GPU time today (priority tiers: past GPU_SECONDS_PER_DAY their next jobs run in relax).
    await deps.queue.gpuSeconds.add(`${request.user.platform}:${request.user.id}`, engineResult.seconds.total).catch(() => undefined);
    video = { path: storePath, bytes: clip.bytes, width: engineResult.width, height: engineResult.height, durationS: engineResult.frames / engineResult.fps, stats };
  }

  // The gate: a cancel that came first stops the job now; from here on Cancel is answered "too late".
  if (!(await startPosting(deps.queue, jobId))) {
    if (!cached) await deps.cache.forget(cacheId);
    throw new EngineCancelledError('cancelled');
  }
  await report({ stage: 'uploading' });
  const deliverStart = Date.now();
  const posted = await postOnce(deps.marker, delivery, request, jobId, lock, video);
  if (posted.kind === 'already') return finishedEarlier(jobResultSchema.parse(posted.record), publish);
  const receipt = posted.receipt;
  const deliveryS = seconds(Date.now() - deliverStart);
  const result: JobResult = {
    v: JOB_PAYLOAD_VERSION,
    videoPath: video.path,
    bytes: video.bytes,
    stats: { ...video.stats, deliveryS, endToEndS: seconds(Date.now() - job.timestamp) },
    receipt,
    alreadyDelivered: false,
  };
  await deps.marker.confirm(request.requestId, result);
  await deps.cache.addReceipt(cacheId, request.delivery.platform, receipt);
  const note = typeof receipt.note === 'string' ? receipt.note : undefined;
  const done: JobEvent = { stage: 'done', endToEndS: result.stats.endToEndS, ...(note ? { note } : {}) };
  await writeOwnedProgress(deps.queue.redis, job, owned, done);
  // Where an earlier attempt died while posting, its post may be up: the status message is left alone.
  if (!earlierAttempt) await publish(done).catch((err: Error) => log.warn({ err: err.message }, 'done could not be shown'));
  // The upload time joins the other stats on the posted message (not after a re-send: its caption says so).
  if (!earlierAttempt && !cached) await delivery.showUploadTime?.(request, jobId, receipt, result.stats);
  log.info({ stats: result.stats }, 'job delivered');
  return result;
}

/** An earlier attempt posted the clip: say done (a no-op where its done event already landed). */
async function finishedEarlier(previous: JobResult, publish: (event: JobEvent) => Promise<unknown>): Promise<JobResult> {
  await publish({ stage: 'done', endToEndS: previous.stats.endToEndS }).catch(() => undefined);
  return { ...previous, alreadyDelivered: true };
}

interface Failure {
  code: UserErrorCode;
  message: string;
  unrecoverable: boolean;
}

/** Maps a failure to what the user sees and whether retrying could help. */
function classify(err: unknown): Failure {
  if (err instanceof UserFacingError) return { code: err.code, message: err.message, unrecoverable: true };
  if (err instanceof EngineCancelledError) return { code: 'cancelled', message: 'cancelled', unrecoverable: true };
  if (err instanceof UnrecoverableError) return { code: 'engine_failed', message: err.message, unrecoverable: true };
  if (err instanceof EngineGenerateError) {
    const reason = err.kind === 'oom' ? 'the GPU ran out of memory' : err.kind === 'bad_input' ? `the engine refused the request (${err.message})` : err.message;
    return { code: 'engine_failed', message: reason, unrecoverable: err.kind === 'bad_input' };
  }
  if (err instanceof EngineDeadError) return { code: 'engine_failed', message: err.message, unrecoverable: false };
  return { code: 'engine_failed', message: err instanceof Error ? err.message : String(err), unrecoverable: false };
}

/** The job's stored picture as `input.png` in its work folder; gone from Redis (expired) is the user's to hear. */
async function writeJobImage(images: JobImages, jobId: string, workDir: string): Promise<string> {
  const png = await images.load(jobId);
  if (!png) throw new UserFacingError('image_expired');
  const path = join(workDir, 'input.png');
  await writeFile(path, png);
  return path;
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch {
    // Across file systems rename fails: copy then delete.
    const { copyFile } = await import('node:fs/promises');
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}
