// What the engine reports about itself (tuning, recompiles, memory after each job) reaches /gpu status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEnv } from '../../config/env.ts';
import { type FleetSnapshot, fleetThresholds, fleetWarnings, renderFleetStatus } from '../../src/core/fleet-status.ts';
import { type WorkerHeartbeat, heartbeatSchema } from '../../src/core/heartbeat.ts';
import { engineReport } from '../../worker/observability/worker-heartbeat.ts';

const NOW = 1_750_000_000_000;
const GIB = 2 ** 30;
const thresholds = fleetThresholds(parseEnv({}));

function worker(report: WorkerHeartbeat['engine']['report']): WorkerHeartbeat {
  return heartbeatSchema.parse({
    v: 1,
    workerId: 'gpu-a',
    host: 'h1',
    pid: 42,
    startedAt: NOW - 3_600_000,
    at: NOW - 1000,
    intervalMs: 5000,
    device: 'cuda:0',
    gpu: { name: 'NVIDIA H200', util: 0.9, vramUsedBytes: 30 * GIB, vramTotalBytes: 140 * GIB, temperatureC: 50, powerW: 400 },
    engine: { state: 'idle', restarts: 0, ...(report ? { report } : {}) },
    job: null,
    jobsDone: 3,
    jobsFailed: 0,
    medianJobS: 20,
    lastError: null,
  });
}

const snapshot = (w: WorkerHeartbeat): FleetSnapshot => ({ now: NOW, redis: { reachable: true, latencyMs: 1 }, queue: { waiting: 0, active: 0, delayed: 0, failedLastHour: 0 }, workers: [w], missing: [] });

describe('/gpu status: the engine report', () => {
  test("the engine's tuning and its last job's peak and after-empty_cache memory are shown, in phone-width lines", () => {
    const text = renderFleetStatus(snapshot(worker({ attention: 'cudnn', compiled: true, recompiles: 0, lastPeakVramBytes: 20.5 * GIB, afterJob: { allocatedBytes: 9.1 * GIB, reservedBytes: 9.5 * GIB } })), thresholds);
    assert.match(text, /tuning: cudnn attention · compiled/);
    assert.match(text, /last job peak 20\.5 GiB · after 9\.1 GiB \(9\.5 held\)/);
    for (const line of text.split('\n')) assert.ok(line.length <= 60, `too wide for a phone: "${line}"`);
    assert.match(text, /^✅ no warnings/);
  });

  test('a recompile after warm-up is a warning', () => {
    const w = worker({ attention: 'flash', compiled: true, recompiles: 2, lastPeakVramBytes: null, afterJob: null });
    assert.deepEqual(fleetWarnings(snapshot(w), thresholds), ['gpu-a: engine recompiled 2 graphs after warm-up']);
  });

  test('a CPU engine (no VRAM figures) and a worker of an older build (no report) show no memory line', () => {
    assert.doesNotMatch(renderFleetStatus(snapshot(worker({ attention: 'default', compiled: false, recompiles: 0, lastPeakVramBytes: null, afterJob: { allocatedBytes: null, reservedBytes: null } })), thresholds), /last job/);
    const old = renderFleetStatus(snapshot(worker(undefined)), thresholds);
    assert.doesNotMatch(old, /tuning|last job/);
  });

  test("the heartbeat carries the engine client's report", () => {
    const report = engineReport({
      report: {
        tuning: { attention: 'cudnn', compiled: true, fused_qkv: true, fused_gelu: true, attention_ms: {}, vae_decode: 'eager', notes: [] },
        warmupSeconds: {},
        recompiles: 1,
        lastPeakVramBytes: 123,
        lastMemory: { job_id: 'j', allocated_bytes: 4, reserved_bytes: 5, after_empty_cache: true, at: NOW },
      },
    });
    assert.deepEqual(report, { attention: 'cudnn', compiled: true, recompiles: 1, lastPeakVramBytes: 123, afterJob: { allocatedBytes: 4, reservedBytes: 5 } });
    assert.ok(heartbeatSchema.safeParse(worker(report)).success);
  });
});
