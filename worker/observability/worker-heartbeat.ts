// Every few seconds, writes this worker's heartbeat to Redis (expiring, so a dead worker's vanishes) and GPU gauges.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { HeartbeatEngineState, WorkerHeartbeat } from '../../src/core/heartbeat.ts';
import { scrubSecrets } from '../../src/core/scrub-secrets.ts';
import { clearGpuReadings, setGpuReadings } from '../../src/ops/metrics.ts';
import { publishHeartbeat, retireHeartbeat } from '../../src/queue/fleet-readings.ts';
import type { VideoQueue } from '../../src/queue/video-queue.ts';
import type { EngineClient, EngineState } from '../engine-client/engine-client.ts';
import type { EngineStats } from '../engine-client/engine-protocol.ts';
import type { WorkerActivity } from './worker-activity.ts';

export interface WorkerHeartbeatOptions {
  redis: Redis;
  queue: VideoQueue;
  workerId: string;
  engine: EngineClient;
  activity: WorkerActivity;
  /** HEARTBEAT_INTERVAL_MS; the record expires after three. */
  intervalMs: number;
  log: Logger;
}

export interface RunningHeartbeat {
  /** Writes one heartbeat now (also what the timer does). */
  beat(): Promise<WorkerHeartbeat>;
  /** Stops beating and removes the record: a clean shutdown is not a missing worker. */
  stop(): Promise<void>;
}

const ENGINE_STATES: Record<EngineState, HeartbeatEngineState> = {
  starting: 'warming',
  idle: 'idle',
  generating: 'generating',
  restarting: 'restarting',
  stopped: 'stopped',
};

/** The engine's own reports, as the heartbeat (and so /gpu status) carries them. */
export function engineReport(engine: Pick<EngineClient, 'report'>): NonNullable<WorkerHeartbeat['engine']['report']> {
  const { tuning, recompiles, lastPeakVramBytes, lastMemory } = engine.report;
  return {
    attention: tuning?.attention ?? null,
    compiled: tuning?.compiled ?? null,
    recompiles,
    lastPeakVramBytes,
    afterJob: lastMemory ? { allocatedBytes: lastMemory.allocated_bytes, reservedBytes: lastMemory.reserved_bytes } : null,
  };
}

export function startWorkerHeartbeat(opts: WorkerHeartbeatOptions): RunningHeartbeat {
  const { engine, activity, intervalMs } = opts;
  const startedAt = Date.now();
  let lastStats: { at: number; stats: EngineStats } | null = null;
  let device: string | null = null;
  let gpuName: string | null = null;
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | null = null;

  async function reading(): Promise<WorkerHeartbeat> {
    // The engine answers stats from its reader thread, so this works while it denoises; null while it is down.
    const stats = await engine.stats(Math.min(2000, intervalMs));
    if (stats) lastStats = { at: Date.now(), stats };
    const fresh = lastStats && Date.now() - lastStats.at < intervalMs * 3 ? lastStats.stats : null;
    device = fresh?.device ?? engine.ready?.device ?? device;
    gpuName = fresh?.gpu_name ?? engine.ready?.gpu_name ?? gpuName;
    const onGpu = device !== null && !device.startsWith('cpu');
    const job = activity.current;
    return {
      v: 1,
      workerId: opts.workerId,
      model: opts.queue.model,
      host: hostname(),
      pid: process.pid,
      startedAt,
      at: Date.now(),
      intervalMs,
      device,
      gpu: onGpu
        ? {
            name: gpuName,
            util: fresh?.gpu_util ?? null,
            vramUsedBytes: fresh?.vram_used_bytes ?? null,
            vramTotalBytes: fresh?.vram_total_bytes ?? null,
            temperatureC: fresh?.temperature_c ?? null,
            powerW: fresh?.power_w ?? null,
          }
        : null,
      engine: { state: ENGINE_STATES[engine.state], restarts: engine.restarts, report: engineReport(engine) },
      job: job ? { id: job.id, stage: job.stage, step: job.step, steps: job.steps, startedAt: job.startedAt } : null,
      jobsDone: activity.jobsDone,
      jobsFailed: activity.jobsFailed,
      medianJobS: activity.medianJobS(),
      lastError: activity.lastError && { ...activity.lastError, message: scrubSecrets(activity.lastError.message) },
    };
  }

  async function beat(): Promise<WorkerHeartbeat> {
    const record = await reading();
    await publishHeartbeat(opts.redis, opts.queue, record);
    setGpuReadings(record);
    return record;
  }

  const tick = () => {
    inFlight = beat()
      .then(() => {
        if (failing) opts.log.info('heartbeat written again');
        failing = false;
      })
      .catch((err: Error) => {
        // Once per outage: a Redis that is down would otherwise log every few seconds.
        if (!failing) opts.log.warn({ err: err.message }, 'heartbeat could not be written');
        failing = true;
      })
      .finally(() => {
        inFlight = null;
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  tick();

  return {
    beat,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // Bounded: shutdown must not hang on a Redis that is gone.
      await Promise.race([inFlight, new Promise((r) => setTimeout(r, 2000).unref())]);
      clearGpuReadings(opts.workerId);
      await Promise.race([retireHeartbeat(opts.redis, opts.queue, opts.workerId).catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}
