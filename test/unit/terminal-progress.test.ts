// npm run video's status message: a cli-progress bar on a terminal, one terminal-status line per change elsewhere.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { cliLogLevel, terminalProgress } from '../../src/bin/terminal-progress.ts';
import { renderTerminalStatus } from '../../src/platforms/cli/terminal-status.ts';
import type { JobEvent } from '../../src/queue/job-events.ts';

const JOB = { preset: 'tiny', seed: 7 };

function capture(isTTY: boolean) {
  const out = new PassThrough();
  let written = '';
  out.on('data', (c: Buffer) => (written += c.toString()));
  const stream = Object.assign(out, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream: stream as unknown as NodeJS.WriteStream, written: () => written };
}

describe('terminal progress', () => {
  test('not a terminal: the status model as one line per change (repeats dropped)', () => {
    const { stream, written } = capture(false);
    const display = terminalProgress(JOB, stream);
    const events: JobEvent[] = [
      { stage: 'starting', step: 0, steps: 2 },
      { stage: 'generating', step: 1, steps: 2 },
      { stage: 'generating', step: 1, steps: 2 },
      { stage: 'decoding', step: 2, steps: 2 },
      { stage: 'encoding' },
    ];
    for (const e of events) display.update(e);
    display.stop();
    const unique = [events[0]!, events[1]!, events[3]!, events[4]!];
    assert.equal(written(), unique.map((e) => `${renderTerminalStatus(e, JOB)}\n`).join(''));
  });

  test('a terminal: the cli-progress bar with the headline and the step count', () => {
    const { stream, written } = capture(true);
    const display = terminalProgress(JOB, stream);
    display.update({ stage: 'generating', step: 3, steps: 8 });
    display.stop();
    assert.match(written(), /Generating \|[█░]+\| 3\/8 steps/);
  });

  test('worker and engine log lines only with LOG_LEVEL=debug', () => {
    assert.equal(cliLogLevel('info'), 'error');
    assert.equal(cliLogLevel('warn'), 'error');
    assert.equal(cliLogLevel('debug'), 'debug');
    assert.equal(cliLogLevel('silent'), 'silent');
  });
});
