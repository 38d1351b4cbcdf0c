// Feeds /metrics from what the engine reports: its tuning and warm-up, each job's steps and peak VRAM, the memory
// left after each job's empty_cache, recompiles, restarts.
import { clearEngineReadings, countEngineRestart, recordEngineMemory, recordEngineReady, recordEngineResult } from '../../src/ops/metrics.ts';
import type { EngineClient } from '../engine-client/engine-client.ts';

export function observeEngineMetrics(engine: EngineClient, workerId: string): void {
  if (engine.ready) recordEngineReady(workerId, engine.ready); // the first ready came before the worker took jobs
  engine.on('ready', (ready) => recordEngineReady(workerId, ready));
  engine.on('result', (result) => recordEngineResult(workerId, result));
  engine.on('memory', (memory) => recordEngineMemory(workerId, memory));
  engine.on('restart', () => countEngineRestart(workerId));
  engine.on('stopped', () => clearEngineReadings(workerId));
}
