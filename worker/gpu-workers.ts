// Every GPU of a host in one process: one worker per GPU (WORKER_GPUS), each engine seeing only its own GPU(s)
// through CUDA_VISIBLE_DEVICES, all pulling from the same queue.
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { ConfigError, type Env } from '../config/env.ts';
import type { EngineHealthSource } from '../src/ops/health.ts';
import { type RunningWorker, startVideoWorker, type VideoWorkerOptions } from './video-worker.ts';

/** One worker's share of the host: the GPU ids its engine sees (null: no GPU, a CPU worker) and its id suffix. */
export interface GpuSlot {
  devices: string[] | null;
  suffix: string;
}

export interface GpuPlan {
  slots: GpuSlot[];
  /** GPUs left out: the odd one when `auto` pairs GPUs for CFG-parallel engines. */
  unused: string[];
}

export interface RunningGpuWorkers {
  workers: RunningWorker[];
  /** For /healthz: serving only while every engine serves. */
  health: EngineHealthSource;
  /** Closes every worker at once, each in its own order (stop taking jobs, finish the current one, engine, Redis). */
  close(): Promise<void>;
}

const SERVING = new Set(['idle', 'generating']);

/** GPU ids nvidia-smi lists (PCI bus order), or none where it is missing or fails. */
export async function listGpus(): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { timeout: 10_000 });
    return stdout.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  } catch {
    return [];
  }
}

/**
 * Which worker gets which GPUs. `auto`: the entries of CUDA_VISIBLE_DEVICES when set (a container's or a
 * scheduler's choice), else every GPU nvidia-smi lists, else one CPU worker. A CFG-parallel engine takes two GPUs.
 */
export function planGpuSlots(setting: Env['WORKER_GPUS'], opts: { visible?: string; listed: string[]; cfgParallel: boolean }): GpuPlan {
  const perWorker = opts.cfgParallel ? 2 : 1;
  if (setting !== 'auto') {
    const workers = setting.map((entry) => entry.split('+'));
    const seen = new Set<string>();
    for (const devices of workers) {
      if (devices.length !== perWorker) {
        throw new ConfigError(
          `WORKER_GPUS: worker ${devices.join('+')} has ${devices.length} GPU(s); ${opts.cfgParallel ? 'ENGINE_CFG_PARALLEL=1 needs two per worker (e.g. 0+1,2+3)' : 'one per worker unless ENGINE_CFG_PARALLEL=1'}`,
        );
      }
      for (const device of devices) {
        if (seen.has(device)) throw new ConfigError(`WORKER_GPUS: GPU ${device} is given to two workers`);
        seen.add(device);
      }
    }
    return { slots: workers.map((devices) => ({ devices, suffix: `gpu${devices.join('-')}` })), unused: [] };
  }
  const visible = (opts.visible ?? '').split(',').map((id) => id.trim()).filter((id) => id.length > 0 && id !== '-1');
  const gpus = opts.visible !== undefined && opts.visible.trim() !== '' ? visible : opts.listed;
  if (gpus.length === 0) return { slots: [{ devices: null, suffix: 'cpu' }], unused: [] };
  const slots: GpuSlot[] = [];
  for (let i = 0; i + perWorker <= gpus.length; i += perWorker) {
    const devices = gpus.slice(i, i + perWorker);
    slots.push({ devices, suffix: `gpu${devices.join('-')}` });
  }
  const unused = gpus.slice(slots.length * perWorker);
  if (slots.length === 0) throw new ConfigError(`ENGINE_CFG_PARALLEL=1 needs two GPUs per worker; this host has ${gpus.join(',')}`);
  return { slots, unused };
}

/** This host's plan: WORKER_GPUS against CUDA_VISIBLE_DEVICES and the GPUs nvidia-smi lists. */
export async function planHostGpus(config: Env): Promise<GpuPlan> {
  return planGpuSlots(config.WORKER_GPUS, { visible: process.env.CUDA_VISIBLE_DEVICES, listed: await listGpus(), cfgParallel: config.ENGINE_CFG_PARALLEL === '1' });
}

/** Starts one worker per slot, all at once; if any cannot start, the others are closed and its error thrown. */
export async function startGpuWorkers(config: Env, options: VideoWorkerOptions = {}, plan?: GpuPlan): Promise<RunningGpuWorkers> {
  const { slots } = plan ?? (await planHostGpus(config));
  const base = config.WORKER_ID || `${hostname()}-${process.pid}`;
  const started = await Promise.allSettled(
    slots.map((slot) =>
      startVideoWorker(
        { ...config, WORKER_ID: `${base}-${slot.suffix}` },
        {
          ...options,
          engineEnv: {
            ...options.engineEnv,
            // nvidia-smi's numbering (PCI bus order), not CUDA's default fastest-first, so WORKER_GPUS=1 is nvidia-smi's GPU 1.
            ...(slot.devices ? { CUDA_VISIBLE_DEVICES: slot.devices.join(','), CUDA_DEVICE_ORDER: process.env.CUDA_DEVICE_ORDER ?? 'PCI_BUS_ID' } : {}),
          },
        },
      ),
    ),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.findIndex((s) => s.status === 'rejected');
  if (failed >= 0) {
    await Promise.all(workers.map((w) => w.close()));
    const reason = (started[failed] as PromiseRejectedResult).reason as Error;
    throw new Error(`worker ${slots[failed]!.suffix} cannot start: ${reason.message}`);
  }
  return {
    workers,
    health: {
      get state() {
        const states = workers.map((w) => w.engine.state as string);
        return states.find((s) => !SERVING.has(s)) ?? (states.includes('generating') ? 'generating' : 'idle');
      },
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
