// Step progress, latest wins: one write in flight at a time, steps arriving meanwhile collapse into the newest,
// close writes the last step not yet shown, and nothing is written after it (a step never lands after the next stage).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobEvent } from '../../src/queue/job-events.ts';
import { StepProgress } from '../../worker/jobs/step-progress.ts';

function slowSink() {
  const written: JobEvent[] = [];
  const releases: (() => void)[] = [];
  const write = (u: JobEvent) =>
    new Promise<void>((resolve) => {
      written.push(u);
      releases.push(resolve);
    });
  const releaseOne = async () => {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { written, write, releaseOne };
}

const step = (n: number): JobEvent => ({ stage: 'generating', step: n, steps: 50 });

test('steps that arrive while a write is in flight collapse into the newest one', async () => {
  const sink = slowSink();
  const relay = new StepProgress(sink.write, 0);
  for (let n = 1; n <= 10; n++) relay.push(step(n));
  assert.deepEqual(sink.written, [step(1)], 'one write at a time');
  await sink.releaseOne();
  assert.deepEqual(sink.written, [step(1), step(10)], 'then only the newest step, 2..9 skipped');
  await sink.releaseOne();
  relay.push(step(11));
  assert.deepEqual(sink.written.at(-1), step(11), 'an idle relay writes at once');
  await sink.releaseOne();
  await relay.close();
});

test('close waits for the write in flight, then writes the last step not yet shown; nothing is written after it', async () => {
  const sink = slowSink();
  const relay = new StepProgress(sink.write, 0);
  relay.push(step(1));
  relay.push(step(2));
  let closed = false;
  const closing = relay.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'waits for the write in flight');
  await sink.releaseOne();
  assert.deepEqual(sink.written, [step(1), step(2)], 'the last step is shown before the next stage');
  assert.equal(closed, false, 'and waited for');
  await sink.releaseOne();
  await closing;
  relay.push(step(3));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sink.written, [step(1), step(2)]);
});

test('a failing write does not stop later steps', async () => {
  let calls = 0;
  const relay = new StepProgress(async () => {
    calls += 1;
    throw new Error('lost');
  }, 0);
  relay.push(step(1));
  await new Promise((r) => setImmediate(r));
  relay.push(step(2));
  await new Promise((r) => setImmediate(r));
  assert.equal(calls, 2);
  await relay.close();
});
