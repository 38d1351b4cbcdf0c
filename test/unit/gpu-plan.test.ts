import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseEnv } from '../../config/env.ts';
import { planGpuSlots } from '../../worker/gpu-workers.ts';

const plan = (setting: string, opts: { visible?: string; listed?: string[]; cfgParallel?: boolean } = {}) =>
  planGpuSlots(parseEnv({ WORKER_GPUS: setting }).WORKER_GPUS, { visible: opts.visible, listed: opts.listed ?? [], cfgParallel: opts.cfgParallel ?? false });
const devices = (p: ReturnType<typeof plan>) => p.slots.map((s) => s.devices);

describe('WORKER_GPUS: which worker gets which GPUs', () => {
  test('auto: every GPU nvidia-smi lists, one worker each; none: one CPU worker', () => {
    assert.deepEqual(devices(plan('auto', { listed: ['0', '1', '2'] })), [['0'], ['1'], ['2']]);
    assert.deepEqual(plan('auto').slots, [{ devices: null, suffix: 'cpu' }]);
  });

  test('auto honours a CUDA_VISIBLE_DEVICES already set (a container or scheduler chose the GPUs)', () => {
    assert.deepEqual(devices(plan('auto', { visible: '2,3', listed: ['0', '1', '2', '3'] })), [['2'], ['3']]);
  });

  test('auto with ENGINE_CFG_PARALLEL=1 pairs GPUs; the odd one is reported unused', () => {
    const p = plan('auto', { listed: ['0', '1', '2'], cfgParallel: true });
    assert.deepEqual(devices(p), [['0', '1']]);
    assert.deepEqual(p.unused, ['2']);
    assert.equal(p.slots[0]!.suffix, 'gpu0-1');
  });

  test('an explicit list, spaces allowed; + groups GPUs for CFG-parallel engines', () => {
    assert.deepEqual(devices(plan(' 0, 1 ')), [['0'], ['1']]);
    assert.deepEqual(devices(plan('0+1,2+3', { cfgParallel: true })), [['0', '1'], ['2', '3']]);
  });

  test('a list that cannot work is a ConfigError naming WORKER_GPUS', () => {
    assert.throws(() => plan('0,0'), (e: Error) => e instanceof ConfigError && /WORKER_GPUS: GPU 0 is given to two workers/.test(e.message));
    assert.throws(() => plan('0+1'), /WORKER_GPUS: worker 0\+1 has 2 GPU/);
    assert.throws(() => plan('0,1', { cfgParallel: true }), /needs two per worker/);
    assert.throws(() => parseEnv({ WORKER_GPUS: '0;1' }), /WORKER_GPUS="0;1" is invalid/);
  });
});
