// The /gpu status text: workers, queue and Redis from one snapshot, with health warnings, in short lines for a phone.
import type { Env } from '../../config/env.ts';
import { DEFAULT_MODEL } from '../../config/models.ts';
import type { WorkerHeartbeat } from './heartbeat.ts';
import type { Tier } from './priority-tiers.ts';

export interface FleetThresholds {
  /** Fraction 0..1; below it while a job denoises, the GPU is waiting on something else. */
  gpuUtilWarnBelow: number;
  vramWarnAbove: number;
  tempWarnAboveC: number;
  engineRestartsWarn: number;
}

export function fleetThresholds(config: Pick<Env, 'GPU_UTIL_WARN_BELOW' | 'VRAM_WARN_ABOVE' | 'TEMP_WARN_ABOVE_C' | 'ENGINE_RESTARTS_WARN'>): FleetThresholds {
  return {
    gpuUtilWarnBelow: config.GPU_UTIL_WARN_BELOW,
    vramWarnAbove: config.VRAM_WARN_ABOVE,
    tempWarnAboveC: config.TEMP_WARN_ABOVE_C,
    engineRestartsWarn: config.ENGINE_RESTARTS_WARN,
  };
}

export interface FleetSnapshot {
  now: number;
  redis: { reachable: boolean; latencyMs: number | null };
  /** null when Redis could not be read. */
  queue: {
    waiting: number;
    active: number;
    delayed: number;
    failedLastHour: number;
    tiers?: Record<Tier, number>;
    /** Each model's lane: its jobs and the live workers holding the model. */
    models?: { model: string; waiting: number; active: number; workers: number }[];
  } | null;
  /** Workers whose heartbeat is current. */
  workers: WorkerHeartbeat[];
  /** Workers seen recently whose heartbeat expired: dead, hung or cut off from Redis. */
  missing: { workerId: string; lastSeenAt: number }[];
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
const seconds = (s: number) => (s < 10 ? s.toFixed(1) : Math.round(s).toString()) + ' s';
const shortId = (id: string) => (id.length > 12 ? id.slice(0, 8) : id);

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** Every warning the snapshot calls for, one short line each, worst news first. */
export function fleetWarnings(snapshot: FleetSnapshot, t: FleetThresholds): string[] {
  if (!snapshot.redis.reachable) return ['Redis: UNREACHABLE'];
  const warnings: string[] = [];
  if (snapshot.workers.length === 0) warnings.push('no GPU worker alive: jobs will wait');
  if (snapshot.workers.length > 0) {
    for (const lane of snapshot.queue?.models ?? []) if (lane.workers === 0 && lane.waiting > 0) warnings.push(`${lane.model}: ${lane.waiting} waiting, no live worker holds it`);
  }
  for (const m of snapshot.missing) warnings.push(`${m.workerId}: no heartbeat for ${ago(snapshot.now - m.lastSeenAt)} (down?)`);
  for (const w of sortedWorkers(snapshot.workers)) {
    const gpu = w.gpu;
    // Only while denoising: text encoding, decoding and the gaps between jobs are legitimately light.
    if (gpu?.util != null && w.engine.state === 'generating' && w.job?.stage === 'generating' && gpu.util < t.gpuUtilWarnBelow) {
      warnings.push(`${w.workerId}: GPU ${pct(gpu.util)} busy while generating (< ${pct(t.gpuUtilWarnBelow)})`);
    }
    if (gpu?.vramUsedBytes != null && gpu.vramTotalBytes && gpu.vramUsedBytes / gpu.vramTotalBytes > t.vramWarnAbove) {
      warnings.push(`${w.workerId}: VRAM ${pct(gpu.vramUsedBytes / gpu.vramTotalBytes)} full (> ${pct(t.vramWarnAbove)})`);
    }
    if (gpu?.temperatureC != null && gpu.temperatureC > t.tempWarnAboveC) {
      warnings.push(`${w.workerId}: GPU at ${Math.round(gpu.temperatureC)} °C (> ${t.tempWarnAboveC} °C)`);
    }
    const recompiles = w.engine.report?.recompiles ?? 0;
    // Presets are static shapes, compiled at warm-up: a recompile means a shape escaped it (each costs minutes).
    if (recompiles > 0) warnings.push(`${w.workerId}: engine recompiled ${recompiles} graph${recompiles === 1 ? '' : 's'} after warm-up`);
    if (w.engine.restarts >= t.engineRestartsWarn) {
      warnings.push(`${w.workerId}: engine restarted ${w.engine.restarts} time${w.engine.restarts === 1 ? '' : 's'}`);
    }
  }
  return warnings;
}

function sortedWorkers(workers: WorkerHeartbeat[]): WorkerHeartbeat[] {
  return [...workers].sort((a, b) => a.workerId.localeCompare(b.workerId));
}

/** The lines about one worker: no tables, each line short enough for a phone. */
export function renderWorker(w: WorkerHeartbeat, now: number): string[] {
  const gpu = w.gpu;
  const device = w.device === null ? 'GPU not known yet' : gpu === null ? `no GPU (${w.device})` : (gpu.name ?? w.device);
  const lines = [`🖥 ${w.workerId} · ${device} · ${w.model ?? DEFAULT_MODEL}`];
  if (gpu) {
    const vram = gpu.vramUsedBytes != null && gpu.vramTotalBytes ? `VRAM ${gib(gpu.vramUsedBytes)}/${gib(gpu.vramTotalBytes)} GiB` : 'VRAM ?';
    lines.push(`GPU ${gpu.util == null ? '?' : pct(gpu.util)} · ${vram}`);
    const health = [gpu.temperatureC == null ? null : `${Math.round(gpu.temperatureC)} °C`, gpu.powerW == null ? null : `${Math.round(gpu.powerW)} W`].filter(Boolean);
    if (health.length > 0) lines.push(health.join(' · '));
  }
  const job = w.job;
  if (job) {
    const step = job.step != null && job.steps != null ? ` ${job.step}/${job.steps}` : '';
    lines.push(`engine ${w.engine.state} · job ${shortId(job.id)} ${job.stage}${step}`);
  } else {
    lines.push(`engine ${w.engine.state}`);
  }
  const failed = w.jobsFailed > 0 ? ` (${w.jobsFailed} failed)` : '';
  lines.push(`jobs ${w.jobsDone}${failed} · median ${w.medianJobS == null ? '–' : seconds(w.medianJobS)} · restarts ${w.engine.restarts}`);
  lines.push(...renderEngineReport(w.engine.report));
  if (w.lastError) {
    const message = w.lastError.message.length > 80 ? `${w.lastError.message.slice(0, 79)}…` : w.lastError.message;
    lines.push(`last error ${ago(now - w.lastError.at)} ago: ${message}`);
  }
  return lines;
}

/** What the engine told about itself: its tuning, and the memory of its last job (GPU workers only). */
function renderEngineReport(report: WorkerHeartbeat['engine']['report']): string[] {
  if (!report) return [];
  const lines: string[] = [];
  if (report.attention !== null || report.compiled !== null) {
    lines.push(`tuning: ${report.attention ?? '?'} attention · ${report.compiled ? 'compiled' : 'eager'}`);
  }
  const after = report.afterJob;
  const memory = [
    report.lastPeakVramBytes == null ? null : `peak ${gib(report.lastPeakVramBytes)} GiB`,
    after?.allocatedBytes == null ? null : `after ${gib(after.allocatedBytes)} GiB${after.reservedBytes == null ? '' : ` (${gib(after.reservedBytes)} held)`}`,
  ].filter(Boolean);
  if (memory.length > 0) lines.push(`last job ${memory.join(' · ')}`);
  return lines;
}

/** The whole /gpu status reply. */
export function renderFleetStatus(snapshot: FleetSnapshot, t: FleetThresholds): string {
  const warnings = fleetWarnings(snapshot, t).map((w) => `⚠️ ${w}`);
  if (!snapshot.redis.reachable || !snapshot.queue) return [...warnings, 'Workers and queue unknown while Redis is down.'].join('\n');
  const blocks = [warnings.length > 0 ? warnings.join('\n') : '✅ no warnings'];
  for (const w of sortedWorkers(snapshot.workers)) blocks.push(renderWorker(w, snapshot.now).join('\n'));
  const q = snapshot.queue;
  const missing = snapshot.missing.length > 0 ? `, ${snapshot.missing.length} missing` : '';
  blocks.push(
    [
      `Workers: ${snapshot.workers.length} alive${missing}`,
      `Queue: ${q.waiting} waiting · ${q.active} active · ${q.delayed} delayed`,
      `Failed in the last hour: ${q.failedLastHour}`,
      `Redis: ok${snapshot.redis.latencyMs === null ? '' : ` (${snapshot.redis.latencyMs} ms)`}`,
      ...(q.models && q.models.length > 1 ? q.models.map((l) => `${l.model}: ${l.waiting} waiting · ${l.active} active · ${l.workers} worker${l.workers === 1 ? '' : 's'}`) : []),
      ...(q.tiers ? [`Waiting per tier: priority ${q.tiers.priority} · normal ${q.tiers.normal} · relax ${q.tiers.relax}`] : []),
    ].join('\n'),
  );
  return blocks.join('\n\n');
}
