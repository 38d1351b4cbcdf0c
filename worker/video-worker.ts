// Assembles one GPU worker: the warm engine, the BullMQ Worker (concurrency 1), cancellation and shutdown.
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { type Env, withoutSecrets } from '../config/env.ts';
import { loadPresets } from '../config/presets.ts';
import { logger, withJobFields } from '../src/core/log.ts';
import { UserQuota } from '../src/core/quota.ts';
import { listenForCancels } from '../src/queue/job-cancellation.ts';
import type { JobRequest, JobResult } from '../src/queue/job-contract.ts';
import { workerConnection } from '../src/queue/redis.ts';
import { type VideoQueue, videoQueueFromConfig } from '../src/queue/video-queue.ts';
import { JobEvents } from '../src/queue/job-events.ts';
import { cogcastKey } from '../src/queue/redis.ts';
import { workerOutbounds } from '../src/platforms/configured-outbounds.ts';
import type { PlatformOutbound } from '../src/platforms/platform.ts';
import { DeliveryMarker } from './jobs/delivery-marker.ts';
import { EngineClient } from './engine-client/engine-client.ts';
import { startJanitor } from './jobs/janitor.ts';
import { observeJobMetrics } from './observability/job-metrics.ts';
import { assertFfmpegAvailable } from '../src/media/mp4-encoder.ts';
import { ResultCache } from './jobs/result-cache.ts';
import { createVideoProcessor } from './jobs/video-processor.ts';
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
}

export interface RunningWorker {
  id: string;
  worker: Worker<JobRequest, JobResult>;
  engine: EngineClient;
  queue: VideoQueue;
  /** Stops taking jobs, lets the current one finish, stops the engine, closes Redis: in that order. */
  close(): Promise<void>;
}

export async function startVideoWorker(config: Env, options: VideoWorkerOptions = {}): Promise<RunningWorker> {
  await assertFfmpegAvailable();
  const presets = loadPresets(config.PRESETS_FILE);
  const id = config.WORKER_ID || `${hostname()}-${process.pid}`;
  const activity = new WorkerActivity();
  // Worker and engine lines carry the running job's id, user and platform.
  const log = withJobFields(logger('worker', { workerId: id }), () => activity.logFields());
  const redis = workerConnection(config.REDIS_URL);
  const subscriber = workerConnection(config.REDIS_URL);
  // BullMQ never closes a connection it was handed, so close() quits this one itself.
  const jobConnection = workerConnection(config.REDIS_URL);
  // The platforms' outbound side, reached through its one registry: delivery, and the status messages' writers.
  const outbounds = workerOutbounds(config, { redis, prefix: cogcastKey(config.QUEUE_NAME), log: log.child({ component: 'outbound' }) }, options.deliveries ?? []);
  const events = new JobEvents(outbounds.store, outbounds);
  const queue = videoQueueFromConfig(config, redis, presets, events);
  const engine = new EngineClient({
    python: resolve(config.ENGINE_PYTHON),
    engineDir: ENGINE_DIR,
    // Bot tokens and passwords stay out of the engine's environment.
    env: withoutSecrets({
      ...process.env,
      ...options.engineEnv,
      ENGINE_MODEL: config.ENGINE_MODEL,
      PRESETS_FILE: resolve(config.PRESETS_FILE),
      ENGINE_DEVICE: config.ENGINE_DEVICE,
      ENGINE_DTYPE: config.ENGINE_DTYPE,
      ENGINE_MEMORY_PROFILE: config.ENGINE_MEMORY_PROFILE,
      ENGINE_COMPILE: config.ENGINE_COMPILE,
      ENGINE_COMPILE_CACHE_DIR: resolve(config.ENGINE_COMPILE_CACHE_DIR),
      ENGINE_CFG_PARALLEL: config.ENGINE_CFG_PARALLEL,
      ENGINE_WARMUP: config.ENGINE_WARMUP ? '1' : '0',
      ENGINE_LOG_LEVEL: config.ENGINE_LOG_LEVEL,
    }),
    startTimeoutMs: config.ENGINE_START_TIMEOUT_S * 1000,
    stepTimeoutMs: config.ENGINE_STEP_TIMEOUT_S * 1000,
    log: log.child({ component: 'engine' }),
  });
  // Beating from here on, so that /gpu status shows the engine warming up.
  const heartbeat = startWorkerHeartbeat({ redis, queue, workerId: id, engine, activity, intervalMs: config.HEARTBEAT_INTERVAL_MS, log });

  // Warm before taking jobs: a worker that cannot load the model should not hold any.
  const ready = await engine.start().catch(async (err: Error) => {
    await heartbeat.stop();
    throw err;
  });
  log.info({ device: ready.device, gpu: ready.gpu_name, warmup: ready.warmup_seconds }, 'engine ready');

  const prefix = queue.key();
  const worker = new Worker<JobRequest, JobResult>(
    config.QUEUE_NAME,
    createVideoProcessor({
      engine,
      presets,
      queue,
      outbounds,
      events,
      marker: new DeliveryMarker(redis, prefix),
      cache: new ResultCache(redis, prefix, Math.ceil(config.RESULT_RETENTION_HOURS * 3600)),
      quota: new UserQuota(redis, prefix, { maxPendingPerUser: config.QUOTA_MAX_PENDING_PER_USER, maxJobsPerHour: config.QUOTA_MAX_JOBS_PER_HOUR }, async () => true),
      model: config.ENGINE_MODEL,
      workDir: resolve(config.WORK_DIR),
      outputDir: resolve(config.OUTPUT_DIR),
      workerId: id,
      minFreeDiskBytes: config.MIN_FREE_DISK_MB * 2 ** 20,
      log,
    }),
    {
      connection: jobConnection,
      concurrency: 1,
      name: id,
      stalledInterval: options.stalledIntervalMs ?? config.WORKER_STALLED_INTERVAL_MS,
      lockDuration: options.lockDurationMs ?? config.WORKER_LOCK_DURATION_MS,
    },
  );
  worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
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
