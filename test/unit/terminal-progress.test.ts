// npm run video's progress: a bar on a terminal, one plain line per stage change elsewhere; the stage in words.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { cliLogLevel, stageWords, terminalProgress } from '../../src/bin/terminal-progress.ts';

describe('terminal progress', () => {
  test('not a terminal: one line per change, decoding after the last step', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (c: Buffer) => (written += c.toString()));
    const display = terminalProgress(Object.assign(out, { isTTY: false }) as unknown as NodeJS.WriteStream);
    for (const p of [
      { stage: 'starting', step: 0, steps: 2 },
      { stage: 'generating', step: 1, steps: 2 },
      { stage: 'generating', step: 1, steps: 2 },
      { stage: 'generating', step: 2, steps: 2 },
      { stage: 'encoding' },
    ] as const)
      display.update(p);
    display.stop();
    assert.equal(written, '  starting 0/2\n  generating 1/2\n  decoding frames 2/2\n  encoding MP4\n');
  });

  test('a terminal: the bar (cli-progress) with the stage word', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (c: Buffer) => (written += c.toString()));
    const tty = Object.assign(out, { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const display = terminalProgress(tty as unknown as NodeJS.WriteStream);
    display.update({ stage: 'generating', step: 3, steps: 8 });
    display.stop();
    assert.match(written, /generating \|[█░]+\| 3\/8 steps/);
  });

  test('stage words and the CLI log level', () => {
    assert.equal(stageWords({ stage: 'generating', step: 8, steps: 8 }), 'decoding frames');
    assert.equal(stageWords({ stage: 'delivering' }), 'saving');
    assert.equal(cliLogLevel('info'), 'error');
    assert.equal(cliLogLevel('warn'), 'error');
    assert.equal(cliLogLevel('debug'), 'debug');
    assert.equal(cliLogLevel('silent'), 'silent');
  });
});
