// The process's Prometheus metrics (prom-client): job stage durations, outcomes, queue depth, GPU gauges, retries.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkerHeartbeat } from '../core/heartbeat.ts';
import type { JobStats } from '../core/stats.ts';
import type { VideoQueue } from '../queue/video-queue.ts';

/** One registry per process: GET /metrics of the bot and of each worker serve it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export const JOB_STAGES = ['queue_wait', 'text_encode', 'denoise', 'vae_decode', 'mp4_encode', 'delivery', 'end_to_end'] as const;
export type JobStage = (typeof JOB_STAGES)[number];
export type JobOutcome = 'completed' | 'failed' | 'cancelled' | 'retried';

const jobStageSeconds = new Histogram({
  name: 'cogcast_job_stage_seconds',
  help: 'Seconds a video job spent in each stage (queue wait to end to end), by preset',
  labelNames: ['stage', 'preset'] as const,
  // From a cached re-post (well under a second) to a 50-step job on a busy GPU (minutes).
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200],
  registers: [metricsRegistry],
});

const jobsTotal = new Counter({
  name: 'cogcast_jobs_total',
  help: 'Job attempts by outcome: completed, failed (for good), cancelled, retried (failed, will run again)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

const deliveryRetries = new Counter({
  name: 'cogcast_delivery_retries_total',
  help: 'Posts to a chat platform that had to be retried (rate limits, network errors)',
  labelNames: ['platform'] as const,
  registers: [metricsRegistry],
});

const engineRestarts = new Counter({
  name: 'cogcast_engine_restarts_total',
  help: 'Engine processes restarted after a crash, OOM kill or hang',
  labelNames: ['worker'] as const,
  registers: [metricsRegistry],
});

const gpuLabels = ['worker', 'gpu'] as const;
const gpuUtil = new Gauge({ name: 'cogcast_gpu_utilization_ratio', help: 'GPU utilisation 0..1 (NVML, last heartbeat)', labelNames: gpuLabels, registers: [metricsRegistry] });
const vramUsed = new Gauge({ name: 'cogcast_gpu_vram_used_bytes', help: 'VRAM in use on the GPU, all processes (last heartbeat)', labelNames: gpuLabels, registers: [metricsRegistry] });
const vramTotal = new Gauge({ name: 'cogcast_gpu_vram_total_bytes', help: 'VRAM of the GPU', labelNames: gpuLabels, registers: [metricsRegistry] });
const gpuTemp = new Gauge({ name: 'cogcast_gpu_temperature_celsius', help: 'GPU temperature (last heartbeat)', labelNames: gpuLabels, registers: [metricsRegistry] });
const gpuPower = new Gauge({ name: 'cogcast_gpu_power_watts', help: 'GPU power draw (last heartbeat)', labelNames: gpuLabels, registers: [metricsRegistry] });
const gpuGauges = [gpuUtil, vramUsed, vramTotal, gpuTemp, gpuPower];

// Queue depth is read from Redis when Prometheus scrapes, so it is never stale and costs nothing between scrapes.
const watchedQueues = new Map<string, VideoQueue>();
const SCRAPE_TIMEOUT_MS = 1000;

/** Resolves `work`, or null when Redis is not connected or slower than a scrape may wait (BullMQ would wait forever). */
async function fromRedis<T>(queue: VideoQueue, work: () => Promise<T>): Promise<T | null> {
  if (queue.redis.status !== 'ready') return null;
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), SCRAPE_TIMEOUT_MS).unref());
  return Promise.race([work().catch(() => null), timeout]);
}

new Gauge({
  name: 'cogcast_redis_up',
  help: '1 when Redis answered this scrape, else 0',
  registers: [metricsRegistry],
  async collect() {
    const answers = await Promise.all([...watchedQueues.values()].map((queue) => fromRedis(queue, () => queue.redis.ping())));
    this.set(answers.length > 0 && answers.every((a) => a === 'PONG') ? 1 : 0);
  },
});

new Gauge({
  name: 'cogcast_queue_jobs',
  help: 'Jobs in the queue by state (every process reports the same queue: aggregate with max, not sum)',
  labelNames: ['queue', 'state'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const [name, queue] of watchedQueues) {
      // During a Redis outage the scrape still answers: without these series, and with redis_up 0.
      const counts = await fromRedis(queue, () => queue.counts());
      if (counts) for (const [state, n] of Object.entries(counts)) this.set({ queue: name, state }, n);
    }
  },
});

/** Reports `queue`'s depth on every scrape until the returned function is called. */
export function watchQueueDepth(queue: VideoQueue): () => void {
  const name = queue.queue.name;
  watchedQueues.set(name, queue);
  return () => {
    if (watchedQueues.get(name) === queue) watchedQueues.delete(name);
  };
}

/** Observes a finished job's stage durations; a reused clip reports only the stages it really went through. */
export function recordJobStages(stats: JobStats): void {
  const observe = (stage: JobStage, seconds: number | null) => {
    if (seconds !== null) jobStageSeconds.observe({ stage, preset: stats.preset }, seconds);
  };
  observe('queue_wait', stats.queueWaitS);
  if (!stats.cached) {
    observe('text_encode', stats.textEncodeS);
    observe('denoise', stats.denoiseS);
    observe('vae_decode', stats.vaeDecodeS);
    observe('mp4_encode', stats.mp4EncodeS);
  }
  observe('delivery', stats.deliveryS);
  observe('end_to_end', stats.endToEndS);
}

export function countJobOutcome(outcome: JobOutcome): void {
  jobsTotal.inc({ outcome });
}

/** For deliveries: call once per retried post to a chat platform. */
export function countDeliveryRetry(platform: string): void {
  deliveryRetries.inc({ platform });
}

export function countEngineRestart(workerId: string): void {
  engineRestarts.inc({ worker: workerId });
}

const gpuOfWorker = new Map<string, string>();

/** Sets the GPU gauges from a worker's heartbeat; a worker without a GPU has none. */
export function setGpuReadings(beat: WorkerHeartbeat): void {
  const gpu = beat.gpu;
  const name = gpu?.name ?? beat.device ?? 'unknown';
  if (gpuOfWorker.get(beat.workerId) !== name) clearGpuReadings(beat.workerId);
  if (!gpu) return;
  gpuOfWorker.set(beat.workerId, name);
  const labels = { worker: beat.workerId, gpu: name };
  const values = [gpu.util, gpu.vramUsedBytes, gpu.vramTotalBytes, gpu.temperatureC, gpu.powerW];
  gpuGauges.forEach((gauge, i) => {
    const value = values[i];
    if (value == null) gauge.remove(labels);
    else gauge.set(labels, value);
  });
}

export function clearGpuReadings(workerId: string): void {
  const name = gpuOfWorker.get(workerId);
  if (name === undefined) return;
  for (const gauge of gpuGauges) gauge.remove({ worker: workerId, gpu: name });
  gpuOfWorker.delete(workerId);
}

// ---- what the engine reports about itself (worker processes; fed by worker/observability/engine-metrics.ts) ----

/** The parts of the engine's `ready` the metrics use (src/ never imports worker/: structural, not the type). */
export interface EngineReadyReading {
  device: string;
  dtype: string;
  memory_profile: string;
  warmup_seconds: Record<string, number>;
  tuning: { attention: string; compiled: boolean; fused_qkv: boolean };
}
export interface EngineResultReading {
  preset: string;
  step_seconds: number[];
  peak_vram_bytes: number | null;
  recompiles: number;
}
export interface EngineMemoryReading {
  allocated_bytes: number | null;
  reserved_bytes: number | null;
}

const engineInfo = new Gauge({
  name: 'cogcast_engine_info',
  help: "The engine's device and tuning since its last ready (value 1)",
  labelNames: ['worker', 'device', 'dtype', 'memory_profile', 'attention', 'compiled', 'fused_qkv'] as const,
  registers: [metricsRegistry],
});
const engineWarmupSeconds = new Gauge({
  name: 'cogcast_engine_warmup_seconds',
  help: 'Seconds the engine spent warming up each preset shape at its last start',
  labelNames: ['worker', 'preset'] as const,
  registers: [metricsRegistry],
});
const engineRecompiles = new Gauge({
  name: 'cogcast_engine_recompiles',
  help: 'torch.compile graphs built since the engine was ready (0 when serving works as designed)',
  labelNames: ['worker'] as const,
  registers: [metricsRegistry],
});
const engineStepSeconds = new Histogram({
  name: 'cogcast_engine_step_seconds',
  help: 'Seconds per denoising step, by preset (the first includes preparing the latents)',
  labelNames: ['preset'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
  registers: [metricsRegistry],
});
const enginePeakVram = new Gauge({
  name: 'cogcast_engine_job_peak_vram_bytes',
  help: 'Peak VRAM the last finished job allocated on the engine (CUDA only)',
  labelNames: ['worker', 'preset'] as const,
  registers: [metricsRegistry],
});
const engineMemoryAllocated = new Gauge({
  name: 'cogcast_engine_memory_allocated_bytes',
  help: 'VRAM still allocated after the last job and torch.cuda.empty_cache() (the model itself, mostly)',
  labelNames: ['worker'] as const,
  registers: [metricsRegistry],
});
const engineMemoryReserved = new Gauge({
  name: 'cogcast_engine_memory_reserved_bytes',
  help: "VRAM the engine's caching allocator still holds after the last job and torch.cuda.empty_cache()",
  labelNames: ['worker'] as const,
  registers: [metricsRegistry],
});
const perWorkerEngineGauges = [engineRecompiles, engineMemoryAllocated, engineMemoryReserved];

// Series with labels beyond the worker's: remembered so that one worker's can be removed (several share a process).
const engineSeries = new Map<string, { gauge: Gauge<string>; labels: Record<string, string> }[]>();

function setEngineSeries(workerId: string, gauge: Gauge<string>, labels: Record<string, string>, value: number): void {
  const series = engineSeries.get(workerId) ?? [];
  const key = JSON.stringify(labels);
  if (!series.some((s) => s.gauge === gauge && JSON.stringify(s.labels) === key)) series.push({ gauge, labels });
  engineSeries.set(workerId, series);
  gauge.set(labels, value);
}

function removeEngineSeries(workerId: string, gauge?: Gauge<string>): void {
  const series = engineSeries.get(workerId) ?? [];
  for (const s of series) if (!gauge || s.gauge === gauge) s.gauge.remove(s.labels);
  engineSeries.set(workerId, gauge ? series.filter((s) => s.gauge !== gauge) : []);
}

export function recordEngineReady(workerId: string, ready: EngineReadyReading): void {
  // A restarted engine may have tuned differently (or warmed other shapes): its old series go.
  removeEngineSeries(workerId, engineInfo);
  removeEngineSeries(workerId, engineWarmupSeconds);
  const info = { worker: workerId, device: ready.device, dtype: ready.dtype, memory_profile: ready.memory_profile, attention: ready.tuning.attention, compiled: String(ready.tuning.compiled), fused_qkv: String(ready.tuning.fused_qkv) };
  setEngineSeries(workerId, engineInfo, info, 1);
  for (const [preset, seconds] of Object.entries(ready.warmup_seconds)) setEngineSeries(workerId, engineWarmupSeconds, { worker: workerId, preset }, seconds);
  engineRecompiles.set({ worker: workerId }, 0);
}

export function recordEngineResult(workerId: string, result: EngineResultReading): void {
  for (const seconds of result.step_seconds) engineStepSeconds.observe({ preset: result.preset }, seconds);
  engineRecompiles.set({ worker: workerId }, result.recompiles);
  if (result.peak_vram_bytes !== null) setEngineSeries(workerId, enginePeakVram, { worker: workerId, preset: result.preset }, result.peak_vram_bytes);
}

export function recordEngineMemory(workerId: string, memory: EngineMemoryReading): void {
  if (memory.allocated_bytes !== null) engineMemoryAllocated.set({ worker: workerId }, memory.allocated_bytes);
  if (memory.reserved_bytes !== null) engineMemoryReserved.set({ worker: workerId }, memory.reserved_bytes);
}

/** A worker that shuts down takes its engine series with it. */
export function clearEngineReadings(workerId: string): void {
  for (const gauge of perWorkerEngineGauges) gauge.remove({ worker: workerId });
  removeEngineSeries(workerId);
  engineSeries.delete(workerId);
}
