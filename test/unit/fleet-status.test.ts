import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEnv } from '../../config/env.ts';
import { type FleetSnapshot, fleetThresholds, fleetWarnings, renderFleetStatus } from '../../src/core/fleet-status.ts';
import type { WorkerHeartbeat } from '../../src/core/heartbeat.ts';

const NOW = 1_750_000_000_000;
const GIB = 2 ** 30;
const thresholds = fleetThresholds(parseEnv({}));

function gpuWorker(overrides: Partial<WorkerHeartbeat> = {}, gpu: Partial<NonNullable<WorkerHeartbeat['gpu']>> = {}): WorkerHeartbeat {
  return {
    v: 1,
    workerId: 'gpu-a',
    host: 'h1',
    pid: 42,
    startedAt: NOW - 3_600_000,
    at: NOW - 1000,
    intervalMs: 5000,
    device: 'cuda:0',
    gpu: { name: 'NVIDIA H100 80GB HBM3', util: 0.97, vramUsedBytes: 40 * GIB, vramTotalBytes: 80 * GIB, temperatureC: 60, powerW: 350, ...gpu },
    engine: { state: 'generating', restarts: 0 },
    job: { id: '3f2a9c1e-0000-4000-8000-000000000000', stage: 'generating', step: 12, steps: 50, startedAt: NOW - 20_000 },
    jobsDone: 14,
    jobsFailed: 0,
    medianJobS: 41.2,
    lastError: null,
    ...overrides,
  };
}

function snapshot(over: Partial<FleetSnapshot> = {}): FleetSnapshot {
  return {
    now: NOW,
    redis: { reachable: true, latencyMs: 1 },
    queue: { waiting: 3, active: 1, delayed: 0, failedLastHour: 2 },
    workers: [gpuWorker()],
    missing: [],
    ...over,
  };
}

describe('/gpu status rendering', () => {
  test('thresholds come from the configuration defaults', () => {
    assert.deepEqual(thresholds, { gpuUtilWarnBelow: 0.6, vramWarnAbove: 0.95, tempWarnAboveC: 85, engineRestartsWarn: 3 });
  });

  test('a healthy worker: its figures in short lines, no warnings', () => {
    const text = renderFleetStatus(snapshot(), thresholds);
    assert.deepEqual(fleetWarnings(snapshot(), thresholds), []);
    assert.match(text, /^✅ no warnings/);
    assert.match(text, /🖥 gpu-a · NVIDIA H100 80GB HBM3/);
    assert.match(text, /GPU 97% · VRAM 40\.0\/80\.0 GiB/);
    assert.match(text, /60 °C · 350 W/);
    assert.match(text, /engine generating · job 3f2a9c1e generating 12\/50/);
    assert.match(text, /jobs 14 · median 41 s · restarts 0/);
    assert.match(text, /Workers: 1 alive/);
    assert.match(text, /Queue: 3 waiting · 1 active · 0 delayed/);
    assert.match(text, /Failed in the last hour: 2/);
    assert.match(text, /Redis: ok \(1 ms\)/);
    for (const line of text.split('\n')) assert.ok(line.length <= 60, `too wide for a phone: "${line}"`);
  });

  test('low utilisation while denoising warns; the same reading while idle or encoding text does not', () => {
    const low = snapshot({ workers: [gpuWorker({}, { util: 0.31 })] });
    assert.deepEqual(fleetWarnings(low, thresholds), ['gpu-a: GPU 31% busy while generating (< 60%)']);
    assert.match(renderFleetStatus(low, thresholds), /^⚠️ gpu-a: GPU 31% busy while generating/);
    const idle = snapshot({ workers: [gpuWorker({ engine: { state: 'idle', restarts: 0 }, job: null }, { util: 0.0 })] });
    assert.deepEqual(fleetWarnings(idle, thresholds), []);
    const starting = snapshot({ workers: [gpuWorker({ job: { id: 'j', stage: 'starting', step: 0, steps: 50, startedAt: NOW } }, { util: 0.1 })] });
    assert.deepEqual(fleetWarnings(starting, thresholds), []);
  });

  test('VRAM above the threshold warns', () => {
    const full = snapshot({ workers: [gpuWorker({}, { vramUsedBytes: 78 * GIB })] });
    assert.deepEqual(fleetWarnings(full, thresholds), ['gpu-a: VRAM 98% full (> 95%)']);
  });

  test('a hot GPU warns', () => {
    const hot = snapshot({ workers: [gpuWorker({}, { temperatureC: 91 })] });
    assert.deepEqual(fleetWarnings(hot, thresholds), ['gpu-a: GPU at 91 °C (> 85 °C)']);
  });

  test('repeated engine restarts warn from the configured count', () => {
    assert.deepEqual(fleetWarnings(snapshot({ workers: [gpuWorker({ engine: { state: 'idle', restarts: 2 }, job: null })] }), thresholds), []);
    const flapping = snapshot({ workers: [gpuWorker({ engine: { state: 'restarting', restarts: 3 }, job: null })] });
    assert.deepEqual(fleetWarnings(flapping, thresholds), ['gpu-a: engine restarted 3 times']);
  });

  test('a worker whose heartbeat expired is reported missing, with how long ago it was seen', () => {
    const snap = snapshot({ missing: [{ workerId: 'gpu-b', lastSeenAt: NOW - 42_000 }] });
    assert.deepEqual(fleetWarnings(snap, thresholds), ['gpu-b: no heartbeat for 42 s (down?)']);
    assert.match(renderFleetStatus(snap, thresholds), /Workers: 1 alive, 1 missing/);
  });

  test('no live worker at all warns that jobs will wait', () => {
    const snap = snapshot({ workers: [], missing: [{ workerId: 'gpu-a', lastSeenAt: NOW - 600_000 }] });
    assert.deepEqual(fleetWarnings(snap, thresholds), ['no GPU worker alive: jobs will wait', 'gpu-a: no heartbeat for 10 min (down?)']);
  });

  test('a CPU worker says "no GPU" and shows no GPU figures', () => {
    const cpu = gpuWorker({ device: 'cpu', gpu: null, engine: { state: 'idle', restarts: 0 }, job: null, medianJobS: 2.345 });
    const text = renderFleetStatus(snapshot({ workers: [cpu] }), thresholds);
    assert.match(text, /🖥 gpu-a · no GPU \(cpu\)/);
    assert.doesNotMatch(text, /VRAM/);
    assert.match(text, /engine idle\n/);
    assert.match(text, /median 2\.3 s/);
  });

  test('a warming engine, unknown readings and the last error are shown plainly', () => {
    const warming = gpuWorker({ device: null, gpu: null, engine: { state: 'warming', restarts: 0 }, job: null, medianJobS: null, jobsDone: 0 });
    const flaky = gpuWorker(
      { workerId: 'gpu-b', lastError: { message: 'engine exited (SIGKILL): out of memory', at: NOW - 300_000, jobId: 'x' }, jobsFailed: 1 },
      { util: null, temperatureC: null, powerW: null },
    );
    const text = renderFleetStatus(snapshot({ workers: [flaky, warming] }), thresholds);
    assert.match(text, /🖥 gpu-a · GPU not known yet · cogvideox-2b\nengine warming\njobs 0 · median – · restarts 0/);
    assert.match(text, /GPU \? · VRAM 40\.0\/80\.0 GiB\nengine generating/);
    assert.match(text, /jobs 14 \(1 failed\)/);
    assert.match(text, /last error 5 min ago: engine exited \(SIGKILL\): out of memory/);
    assert.ok(text.indexOf('gpu-a') < text.indexOf('🖥 gpu-b'), 'workers in a stable order');
  });

  test('Redis unreachable: one warning, nothing invented', () => {
    const text = renderFleetStatus({ now: NOW, redis: { reachable: false, latencyMs: null }, queue: null, workers: [], missing: [] }, thresholds);
    assert.equal(text, '⚠️ Redis: UNREACHABLE\nWorkers and queue unknown while Redis is down.');
  });

  test('thresholds are honoured as configured', () => {
    const strict = fleetThresholds(parseEnv({ GPU_UTIL_WARN_BELOW: '0.99', TEMP_WARN_ABOVE_C: '50', VRAM_WARN_ABOVE: '0.4', ENGINE_RESTARTS_WARN: '1' }));
    const w = gpuWorker({ engine: { state: 'generating', restarts: 1 } });
    assert.deepEqual(fleetWarnings(snapshot({ workers: [w] }), strict), [
      'gpu-a: GPU 97% busy while generating (< 99%)',
      'gpu-a: VRAM 50% full (> 40%)',
      'gpu-a: GPU at 60 °C (> 50 °C)',
      'gpu-a: engine restarted 1 time',
    ]);
  });
});
