// Assembles one GPU worker: the warm engine, the BullMQ Worker (concurrency 1), cancellation and shutdown.
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { type Env, isSetByOperator } from '../config/env.ts';
import { loadPresets } from '../config/presets.ts';
import { logger, withJobFields } from '../src/core/log.ts';
import { UserQuota } from '../src/core/quota.ts';
import { listenForCancels } from '../src/queue/job-cancellation.ts';
import type { JobRequest, JobResult } from '../src/queue/job-contract.ts';
import { workerConnection } from '../src/queue/redis.ts';
import { logRedisErrors } from '../src/queue/redis-errors.ts';
import { type VideoQueue, videoQueueFromConfig } from '../src/queue/video-queue.ts';
import { JobEvents } from '../src/queue/job-events.ts';
import { cogcastKey } from '../src/queue/redis.ts';
import { workerOutbounds } from '../src/platforms/configured-outbounds.ts';
import type { PlatformOutbound } from '../src/platforms/platform.ts';
import { DeliveryMarker } from './jobs/delivery-marker.ts';
import { EngineClient } from './engine-client/engine-client.ts';
import { engineSettings, PROJECT_ROOT } from './engine-client/engine-settings.ts';
import { heldModel } from './engine-client/model-identity.ts';
import { type ResolvedModel, resolveEngineModel } from './engine-client/model-resolution.ts';
import { startJanitor } from './jobs/janitor.ts';
import { observeJobMetrics } from './observability/job-metrics.ts';
import { assertFfmpegAvailable } from '../src/media/mp4-encoder.ts';
import { ResultCache } from './jobs/result-cache.ts';
import { JobImages } from '../src/queue/job-images.ts';
import { createVideoProcessor } from './jobs/video-processor.ts';
import { LockWatch } from './jobs/job-lock.ts';
import { scrubbedProcessor } from './jobs/scrubbed-processor.ts';
import { WorkerActivity } from './observability/worker-activity.ts';
import { startWorkerHeartbeat } from './observability/worker-heartbeat.ts';

export const ENGINE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'engine');

export interface VideoWorkerOptions {
  /** Platform outbounds besides the CLI's local-file one (see configuredOutbounds). */
  deliveries?: PlatformOutbound[];
  /** Extra environment for the engine process (CUDA_VISIBLE_DEVICES, say). */
  engineEnv?: NodeJS.ProcessEnv;
  /** Override WORKER_STALLED_INTERVAL_MS / WORKER_LOCK_DURATION_MS (tests use short ones). */
  stalledIntervalMs?: number;
  lockDurationMs?: number;
  /** The model ENGINE_MODEL resolved to (npm start resolves it first); resolved here when absent. */
  model?: ResolvedModel;
  /** Called with the engine client before it starts, to follow its start-up (loading, warming). */
  onEngine?: (engine: EngineClient) => void;
}

export interface RunningWorker {
  id: string;
  model: ResolvedModel;
  worker: Worker<JobRequest, JobResult>;
  engine: EngineClient;
  queue: VideoQueue;
  /** Stops taking jobs, lets the current one finish, stops the engine, closes Redis: in that order. */
  close(): Promise<void>;
}

export async function startVideoWorker(config: Env, options: VideoWorkerOptions = {}): Promise<RunningWorker> {
  await assertFfmpegAvailable();
  const id = config.WORKER_ID || `${hostname()}-${process.pid}`;
  const activity = new WorkerActivity();
  // Worker and engine lines carry the running job's id, user and platform.
  const log = withJobFields(logger('worker', { workerId: id }), () => activity.logFields());
  const model =
    options.model ??
    (await resolveEngineModel({ requested: config.ENGINE_MODEL, device: config.ENGINE_DEVICE, python: resolve(config.ENGINE_PYTHON), presetsFileSet: isSetByOperator('PRESETS_FILE'), root: PROJECT_ROOT, log }));
  const presetsFile = model.presetsFile ?? config.PRESETS_FILE;
  const presets = loadPresets(presetsFile);
  // The catalogue model in ENGINE_MODEL: its lane is the one queue this worker takes jobs from.
  const held = heldModel(config.ENGINE_MODEL_NAME, model.model);
  const redis = workerConnection(config);
  const subscriber = workerConnection(config);
  // BullMQ never closes a connection it was handed, so close() quits this one itself.
  const jobConnection = workerConnection(config);
  // The platforms' outbound side, reached through its one registry: delivery, and the status messages' writers.
  const outbounds = workerOutbounds(config, { redis, prefix: cogcastKey(config.QUEUE_NAME), log: log.child({ component: 'outbound' }) }, options.deliveries ?? []);
  const events = new JobEvents(outbounds.store, outbounds);
  const queue = videoQueueFromConfig(config, redis, presets, held, events);
  const engine = new EngineClient({
    python: resolve(config.ENGINE_PYTHON),
    engineDir: ENGINE_DIR,
    // One validated document; the rest of the engine's environment is allow-listed (engine-environment.ts).
    settings: engineSettings(config, presets, model.model, held),
    // Library progress bars (huggingface_hub, transformers, diffusers) would be log lines: progress goes through the protocol.
    env: { ...process.env, ...options.engineEnv, HF_HUB_DISABLE_PROGRESS_BARS: '1' },
    startTimeoutMs: config.ENGINE_START_TIMEOUT_S * 1000,
    stepTimeoutMs: config.ENGINE_STEP_TIMEOUT_S * 1000,
    log: log.child({ component: 'engine' }),
  });
  options.onEngine?.(engine);
  // Beating from here on, so that /gpu status shows the engine warming up.
  const heartbeat = startWorkerHeartbeat({ redis, queue, workerId: id, engine, activity, intervalMs: config.HEARTBEAT_INTERVAL_MS, log });

  // Warm before taking jobs: a worker that cannot load the model should not hold any.
  const ready = await engine.start().catch(async (err: Error) => {
    await heartbeat.stop();
    throw err;
  });
  log.info({ device: ready.device, gpu: ready.gpu_name, warmup: ready.warmup_seconds, model: held, queue: queue.queue.name }, 'engine ready');

  const prefix = queue.key();
  const lockDuration = options.lockDurationMs ?? config.WORKER_LOCK_DURATION_MS;
  const lockWatch = new LockWatch(lockDuration);
  const worker = new Worker<JobRequest, JobResult>(
    queue.queue.name,
    scrubbedProcessor(createVideoProcessor({
      engine,
      presets,
      queue,
      outbounds,
      events,
      marker: new DeliveryMarker(redis, prefix),
      images: new JobImages(redis, prefix, config.IMAGE_TTL_SECONDS),
      cache: new ResultCache(redis, prefix, Math.ceil(config.RESULT_RETENTION_HOURS * 3600), join(resolve(config.OUTPUT_DIR), 'results')),
      quota: new UserQuota(redis, prefix, { maxPendingPerUser: config.QUOTA_MAX_PENDING_PER_USER, maxJobsPerHour: config.QUOTA_MAX_JOBS_PER_HOUR }, async () => true),
      model: model.model,
      demoModel: model.demo,
      workDir: resolve(config.WORK_DIR),
      outputDir: resolve(config.OUTPUT_DIR),
      workerId: id,
      minFreeDiskBytes: config.MIN_FREE_DISK_MB * 2 ** 20,
      lockWatch,
      onDiscarded: (jobId, reason) => activity.discarded(jobId, reason),
      log,
    })),
    {
      connection: jobConnection,
      concurrency: 1,
      name: id,
      stalledInterval: options.stalledIntervalMs ?? config.WORKER_STALLED_INTERVAL_MS,
      lockDuration,
      // A job whose worker died is taken over, not failed: as many deaths as it has attempts (BullMQ's default is 1).
      maxStalledCount: config.JOB_ATTEMPTS,
    },
  );
  lockWatch.observe(worker);
  logRedisErrors(worker, 'worker', log);
  activity.observe(worker);
  observeJobMetrics(worker, engine, id);
  await listenForCancels(subscriber, queue, (jobId) => {
    if (worker.cancelJob(jobId, 'cancelled by user')) log.info({ jobId }, 'cancel requested');
  });

  const stopJanitor = startJanitor(
    {
      workDir: resolve(config.WORK_DIR),
      outputDir: resolve(config.OUTPUT_DIR),
      staleWorkMs: 3_600_000,
      retentionMs: config.RESULT_RETENTION_HOURS * 3_600_000,
      maxOutputBytes: config.OUTPUT_MAX_MB * 2 ** 20,
      log,
    },
    config.JANITOR_INTERVAL_S * 1000,
  );

  let closing: Promise<void> | null = null;
  return {
    id,
    model,
    worker,
    engine,
    queue,
    close() {
      closing ??= (async () => {
        stopJanitor();
        await worker.close();
        await jobConnection.quit().catch(() => undefined);
        await engine.stop();
        await heartbeat.stop();
        await subscriber.quit().catch(() => undefined);
        await queue.close();
        await redis.quit().catch(() => undefined);
      })();
      return closing;
    },
  };
}
