// The BullMQ processor: one video job from payload to posted MP4, with stats, retries and cancellation.
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { PresetBook } from '../../config/presets.ts';
import type { UserErrorCode } from '../../src/core/errors.ts';
import type { UserQuota } from '../../src/core/quota.ts';
import type { JobStats } from '../../src/core/stats.ts';
import { wasCancelled } from '../../src/queue/job-cancellation.ts';
import { JOB_PAYLOAD_VERSION, type JobRequest, type JobResult, jobResultSchema, parseJobRequest } from '../../src/queue/job-contract.ts';
import type { JobEvent, JobEvents } from '../../src/queue/job-events.ts';
import { refreshQueuePositions } from '../../src/queue/queue-positions.ts';
import type { VideoQueue } from '../../src/queue/video-queue.ts';
import type { PlatformOutbounds } from '../../src/platforms/configured-outbounds.ts';
import type { DeliverableVideo } from '../../src/platforms/platform.ts';
import type { DeliveryMarker } from './delivery-marker.ts';
import type { EngineClient } from '../engine-client/engine-client.ts';
import { EngineCancelledError, EngineDeadError, EngineGenerateError } from '../engine-client/engine-errors.ts';
import { assertDiskSpace } from './janitor.ts';
import { encodeMp4 } from '../../src/media/mp4-encoder.ts';
import { type ResultCache, resultKey } from './result-cache.ts';

export interface VideoProcessorDeps {
  engine: EngineClient;
  presets: PresetBook;
  queue: VideoQueue;
  /** The platforms' outbound side: delivery of the clip. */
  outbounds: PlatformOutbounds;
  /** Where every stage of a job is published; the status message follows these events only. */
  events: JobEvents;
  marker: DeliveryMarker;
  cache: ResultCache;
  quota: UserQuota;
  model: string;
  workDir: string;
  outputDir: string;
  workerId: string;
  /** Free space kept in workDir beyond what a job's frames and MP4 need. */
  minFreeDiskBytes: number;
  log: Logger;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

export function createVideoProcessor(deps: VideoProcessorDeps): Processor<JobRequest, JobResult> {
  return async (job, _token, signal) => {
    const jobId = job.id ?? '';
    let request: JobRequest;
    try {
      request = parseJobRequest(job.data);
    } catch (err) {
      throw new UnrecoverableError((err as Error).message);
    }
    const owner = `${request.user.platform}:${request.user.id}`;
    const log = deps.log.child({ jobId, user: owner, platform: request.delivery.platform });
    const workDir = join(deps.workDir, `${jobId}-${job.attemptsStarted ?? job.attemptsMade}`);
    // This job just left the waiting list: the jobs behind it moved up.
    void refreshQueuePositions(deps.queue, deps.events).catch((err: Error) => log.debug({ err: err.message }, 'queue positions not refreshed'));
    const report = reporter(deps, job, jobId, request, log);
    try {
      const result = await runJob(deps, job, jobId, request, report, workDir, log, signal);
      await deps.quota.release(owner, request.requestId);
      return result;
    } catch (err) {
      const failure = classify(err);
      const final = failure.unrecoverable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: (err as Error).message, final, attempt: job.attemptsMade + 1 }, 'job failed');
      if (final) {
        await report(failure.code === 'cancelled' ? { stage: 'cancelled' } : { stage: 'failed', reason: failure.code, detail: failure.message });
        await deps.quota.release(owner, request.requestId);
      }
      throw failure.unrecoverable ? new UnrecoverableError(failure.message) : err;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };
}

type Report = (event: JobEvent) => Promise<void>;

/**
 * Publishes a stage of this attempt: as BullMQ progress (the CLI and /gpu status follow it) and as a job event
 * (the status message follows it). Never throws: a status that cannot be shown must not fail the job.
 */
function reporter(deps: VideoProcessorDeps, job: Job<JobRequest, JobResult>, jobId: string, request: JobRequest, log: Logger): Report {
  const attempt = Math.max(1, job.attemptsStarted ?? job.attemptsMade + 1);
  return async (event) => {
    try {
      await job.updateProgress(event);
      await deps.events.publish({ jobId, request }, attempt, event);
    } catch (err) {
      log.debug({ err: (err as Error).message, stage: event.stage }, 'job event not published');
    }
  };
}

async function runJob(
  deps: VideoProcessorDeps,
  job: Job<JobRequest, JobResult>,
  jobId: string,
  request: JobRequest,
  report: Report,
  workDir: string,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<JobResult> {
  const startedAt = Date.now();
  const delivered = await deps.marker.delivered(request.requestId);
  if (delivered) {
    log.info('already delivered by an earlier attempt: not posting again');
    return finishedEarlier(jobResultSchema.parse(delivered), report);
  }
  if (signal?.aborted || (await wasCancelled(deps.queue, jobId))) throw new EngineCancelledError('cancelled');
  const preset = deps.presets.byName.get(request.preset);
  if (!preset) throw new UnrecoverableError(`preset "${request.preset}" is not configured on this worker`);
  const outbound = deps.outbounds.for(request.delivery.platform);

  const cacheId = resultKey(deps.model, request);
  const cached = await deps.cache.get(cacheId);
  let video: DeliverableVideo;
  if (cached) {
    log.info('identical request: reusing the stored clip');
    const queueWaitS = seconds(startedAt - job.timestamp);
    const stats: JobStats = { ...cached.stats, cached: true, queueWaitS, deliveryS: null, endToEndS: seconds(Date.now() - job.timestamp), workerId: deps.workerId };
    const previousReceipt = cached.receipts[request.delivery.platform];
    video = { path: cached.path, bytes: cached.bytes, width: preset.width, height: preset.height, durationS: preset.frames / preset.fps, stats, ...(previousReceipt ? { previousReceipt } : {}) };
  } else {
    await mkdir(workDir, { recursive: true });
    // Raw frames plus the MP4 (far smaller): twice the frames is a safe bound.
    await assertDiskSpace(deps.workDir, preset.width * preset.height * 3 * preset.frames * 2, deps.minFreeDiskBytes);
    const engineResult = await deps.engine.generate(
      { job_id: jobId, prompt: request.prompt, negative_prompt: request.negativePrompt, preset: preset.name, seed: request.seed, output_dir: workDir },
      (step, steps) => {
        void report({ stage: 'generating', step, steps });
        // The last step done, the engine decodes the latents to frames (the VAE) before it answers.
        if (step === steps) void report({ stage: 'decoding' });
      },
      signal,
    );
    await report({ stage: 'encoding' });
    const encodeStart = Date.now();
    const tmpMp4 = join(workDir, 'video.mp4');
    const bytes = await encodeMp4(
      { framesPath: engineResult.frames_path, width: engineResult.width, height: engineResult.height, frames: engineResult.frames, fps: engineResult.fps },
      tmpMp4,
    );
    const mp4EncodeS = seconds(Date.now() - encodeStart);
    const storePath = join(deps.outputDir, 'results', `${cacheId}.mp4`);
    await mkdir(join(deps.outputDir, 'results'), { recursive: true });
    await moveFile(tmpMp4, storePath);
    const stats: JobStats = {
      preset: preset.name,
      seed: request.seed,
      steps: preset.steps,
      width: engineResult.width,
      height: engineResult.height,
      frames: engineResult.frames,
      fps: engineResult.fps,
      queueWaitS: seconds(startedAt - job.timestamp),
      textEncodeS: engineResult.seconds.text_encode,
      denoiseS: engineResult.seconds.denoise,
      denoisePerStepS: engineResult.seconds.denoise / preset.steps,
      vaeDecodeS: engineResult.seconds.vae_decode,
      engineTotalS: engineResult.seconds.total,
      mp4EncodeS,
      deliveryS: null,
      endToEndS: seconds(Date.now() - job.timestamp),
      gpuName: engineResult.gpu_name,
      peakVramBytes: engineResult.peak_vram_bytes,
      gpuUtilMean: engineResult.gpu_util_mean,
      workerId: deps.workerId,
      cached: false,
    };
    await deps.cache.put(cacheId, storePath, bytes, stats);
    await deps.queue.durations.record(preset.name, seconds(Date.now() - startedAt));
    video = { path: storePath, bytes, width: engineResult.width, height: engineResult.height, durationS: engineResult.frames / engineResult.fps, stats };
  }

  await report({ stage: 'uploading' });
  const claim = await deps.marker.claim(request.requestId);
  if (claim.kind === 'delivered') return finishedEarlier(jobResultSchema.parse(claim.record), report);
  if (claim.kind === 'busy') throw new Error('another attempt is posting this video right now');
  const deliverStart = Date.now();
  let receipt: Record<string, unknown>;
  try {
    receipt = await outbound.deliver(request, jobId, video, deps.outbounds.slotFor(request.delivery.platform));
  } catch (err) {
    await deps.marker.abandon(request.requestId, claim.token);
    throw err;
  }
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
  await report({ stage: 'done', endToEndS: result.stats.endToEndS, ...(note ? { note } : {}) });
  log.info({ stats: result.stats }, 'job delivered');
  return result;
}

/** An earlier attempt posted the clip: say done (a no-op where its done event already landed). */
async function finishedEarlier(previous: JobResult, report: Report): Promise<JobResult> {
  await report({ stage: 'done', endToEndS: previous.stats.endToEndS });
  return { ...previous, alreadyDelivered: true };
}

interface Failure {
  code: UserErrorCode;
  message: string;
  unrecoverable: boolean;
}

/** Maps a failure to what the user sees and whether retrying could help. */
function classify(err: unknown): Failure {
  if (err instanceof EngineCancelledError) return { code: 'cancelled', message: 'cancelled', unrecoverable: true };
  if (err instanceof UnrecoverableError) return { code: 'engine_failed', message: err.message, unrecoverable: true };
  if (err instanceof EngineGenerateError) {
    const reason = err.kind === 'oom' ? 'the GPU ran out of memory' : err.kind === 'bad_input' ? `the engine refused the request (${err.message})` : err.message;
    return { code: 'engine_failed', message: reason, unrecoverable: err.kind === 'bad_input' };
  }
  if (err instanceof EngineDeadError) return { code: 'engine_failed', message: err.message, unrecoverable: false };
  return { code: 'engine_failed', message: err instanceof Error ? err.message : String(err), unrecoverable: false };
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
