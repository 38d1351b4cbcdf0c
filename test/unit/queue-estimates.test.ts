// Queue ETAs: jobs ahead at their own preset's duration, the running job by its remaining steps, several workers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type PresetTiming, type QueueSnapshot, estimateSeconds, remainingSeconds } from '../../src/queue/queue-estimates.ts';

// Recorded medians: a standard clip takes 12 s (10 s of it denoising), a draft 1 s (0.5 s denoising).
const TIMINGS: Record<string, PresetTiming> = {
  standard: { totalS: 12, denoiseS: 10 },
  draft: { totalS: 1, denoiseS: 0.5 },
  fast: { totalS: 4, denoiseS: null },
};
const timingOf = (preset: string): PresetTiming => {
  const timing = TIMINGS[preset];
  if (!timing) throw new Error(`no timing for ${preset}`);
  return timing;
};
const idle = (ahead: string[], workers = 1): QueueSnapshot => ({ ahead, running: [], workers });

describe('remaining time of a running job', () => {
  test('counts the denoising steps not yet done plus what follows them', () => {
    assert.equal(remainingSeconds(TIMINGS.standard!, { stage: 'generating', step: 20, steps: 50 }), 10 * (30 / 50) + 2);
    assert.equal(remainingSeconds(TIMINGS.standard!, { stage: 'generating', step: 50, steps: 50 }), 2);
  });

  test('a job that has not reported a step yet needs its whole duration; one decoding only its tail', () => {
    assert.equal(remainingSeconds(TIMINGS.standard!, null), 12);
    assert.equal(remainingSeconds(TIMINGS.standard!, { stage: 'starting', step: 0, steps: 50 }), 12);
    assert.equal(remainingSeconds(TIMINGS.standard!, { stage: 'decoding' }), 2);
    assert.ok(remainingSeconds(TIMINGS.standard!, { stage: 'encoding' }) < 2);
  });

  test('without a recorded denoising share the whole job is taken as steps', () => {
    assert.equal(remainingSeconds(TIMINGS.fast!, { stage: 'generating', step: 5, steps: 50 }), 4 * (45 / 50));
  });
});

describe('ETA of a queued job', () => {
  test('a draft behind a waiting standard clip waits for the standard clip, not for another draft', () => {
    assert.equal(estimateSeconds(idle(['standard']), 'draft', timingOf), 12 + 1);
  });

  test('a standard clip behind drafts is priced at the drafts\' duration for them and its own for itself', () => {
    assert.equal(estimateSeconds(idle(['draft', 'draft', 'draft']), 'standard', timingOf), 3 + 12);
  });

  test('mixed presets ahead and a running job at step 25 of 50', () => {
    const snapshot: QueueSnapshot = { ahead: ['draft', 'standard', 'fast'], running: [{ preset: 'standard', progress: { stage: 'generating', step: 25, steps: 50 } }], workers: 1 };
    // running: 10 * 0.5 + 2 = 7 s left; then 1 + 12 + 4 ahead; then our draft.
    assert.equal(estimateSeconds(snapshot, 'draft', timingOf), 7 + 1 + 12 + 4 + 1);
  });

  test('the running job counts by its progress: the later its step, the sooner ours is done', () => {
    const at = (step: number): number =>
      estimateSeconds({ ahead: [], running: [{ preset: 'standard', progress: { stage: 'generating', step, steps: 50 } }], workers: 1 }, 'draft', timingOf);
    assert.ok(at(10) > at(40), `${at(10)} > ${at(40)}`);
    assert.equal(at(50), 2 + 1);
  });

  test('two workers: each job ahead goes to the worker free first', () => {
    const snapshot: QueueSnapshot = {
      ahead: ['standard', 'draft'],
      running: [
        { preset: 'standard', progress: { stage: 'generating', step: 45, steps: 50 } }, // 3 s left
        { preset: 'draft', progress: { stage: 'decoding' } }, // 0.5 s left
      ],
      workers: 2,
    };
    // worker B free at 0.5 takes the standard (until 12.5), worker A free at 3 takes the draft (until 4);
    // ours starts on worker A at 4.
    assert.equal(estimateSeconds(snapshot, 'draft', timingOf), 4 + 1);
  });

  test('an idle worker beside a busy one starts the next job at once', () => {
    const snapshot: QueueSnapshot = { ahead: [], running: [{ preset: 'standard', progress: null }], workers: 2 };
    assert.equal(estimateSeconds(snapshot, 'draft', timingOf), 1);
  });

  test('with nothing ahead and no worker connected the job still takes its own duration', () => {
    assert.equal(estimateSeconds(idle([], 0), 'standard', timingOf), 12);
  });
});
