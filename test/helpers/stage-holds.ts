// Holds a worker process in a chosen stage, from outside it: stand-ins for the engine's interpreter and for ffmpeg
// (ENGINE_PYTHON, FFMPEG_PATH) that run the real ones but wait while a hold file exists.
// - 'generate': the engine's first step reaches the worker, then the engine is stopped (SIGSTOP) until released;
// - 'decode': the engine's `result` line is held back, so to the worker the engine is still decoding;
// - 'encode': ffmpeg waits before encoding.
// A stand-in stops holding once the worker that started it is gone, so a killed worker leaves nothing stuck.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './test-config.ts';

export type HeldStage = 'generate' | 'decode' | 'encode';

export interface StageHolds {
  /** Environment for the worker process: ENGINE_PYTHON and FFMPEG_PATH pointing at the stand-ins. */
  env: Record<string, string>;
  /** From now on, the next job to reach `stage` waits there. */
  hold(stage: HeldStage): void;
  /** Resolves once a job waits in `stage`. */
  reached(stage: HeldStage, timeoutMs?: number): Promise<void>;
  release(stage: HeldStage): void;
  releaseAll(): void;
}

// Reads the engine's protocol lines and passes them on; the engine (a child of this process) is stopped or its
// result held back while a hold file exists and the worker (this process's parent) lives.
const ENGINE_GATE = `
import os, signal, sys, time
holds, engine = sys.argv[1], int(sys.argv[2])
worker = os.getppid()
def wait_while(stage, stop_engine):
    hold = os.path.join(holds, stage + '.hold')
    if not os.path.exists(hold):
        return
    if stop_engine:
        os.kill(engine, signal.SIGSTOP)
    open(os.path.join(holds, stage + '.reached'), 'a').close()
    while os.path.exists(hold) and os.getppid() == worker:
        time.sleep(0.05)
    if stop_engine:
        os.kill(engine, signal.SIGCONT)
def forward(line):
    sys.stdout.write(line)
    sys.stdout.flush()
seen_step = False
for line in sys.stdin:
    compact = line.replace(' ', '')
    try:
        if '"type":"progress"' in compact and not seen_step:
            # The worker hears of step 1 (the job is generating), then the engine stops right there.
            seen_step = True
            forward(line)
            wait_while('generate', True)
            continue
        if '"type":"result"' in compact:
            seen_step = False
            wait_while('decode', False)
        elif '"type":"error"' in compact or '"type":"cancelled"' in compact:
            seen_step = False  # the job ended without a result: the next job's first step is held again
        forward(line)
    except BrokenPipeError:
        break
`;

export function stageHolds(dir: string): StageHolds {
  mkdirSync(dir, { recursive: true });
  const file = (stage: HeldStage, what: 'hold' | 'reached') => join(dir, `${stage}.${what}`);
  const python = join(REPO_ROOT, '.venv/bin/python');
  const ffmpeg = execFileSync('which', ['ffmpeg']).toString().trim();
  const gate = join(dir, 'engine-gate.py');
  writeFileSync(gate, ENGINE_GATE);
  const enginePython = join(dir, 'engine-python');
  // The engine writes its protocol lines into a fifo read by the gate, which takes this shell's place (exec): the
  // worker's pipes are the engine's stdin and the gate's stdout.
  writeFileSync(
    enginePython,
    [
      '#!/bin/sh',
      `fifo="${dir}/engine-$$.out"`,
      'rm -f "$fifo" && mkfifo "$fifo" || exit 1',
      // An asynchronous command's stdin is /dev/null unless given another: hand it the worker's pipe kept on fd 3.
      'exec 3<&0',
      `"${python}" "$@" <&3 3<&- >"$fifo" &`,
      'exec 3<&-',
      `exec "${python}" -u "${gate}" "${dir}" "$!" <"$fifo"`,
      '',
    ].join('\n'),
  );
  const ffmpegPath = join(dir, 'ffmpeg');
  writeFileSync(
    ffmpegPath,
    [
      '#!/bin/sh',
      `for a in "$@"; do [ "$a" = "-version" ] && exec "${ffmpeg}" "$@"; done`,
      `while [ -f "${file('encode', 'hold')}" ]; do`,
      '  kill -0 $PPID 2>/dev/null || exit 1',
      `  touch "${file('encode', 'reached')}"`,
      '  sleep 0.05',
      'done',
      `exec "${ffmpeg}" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(enginePython, 0o755);
  chmodSync(ffmpegPath, 0o755);
  const release = (stage: HeldStage) => {
    rmSync(file(stage, 'hold'), { force: true });
    rmSync(file(stage, 'reached'), { force: true });
  };
  return {
    env: { ENGINE_PYTHON: enginePython, FFMPEG_PATH: ffmpegPath },
    hold(stage) {
      rmSync(file(stage, 'reached'), { force: true });
      writeFileSync(file(stage, 'hold'), '');
    },
    async reached(stage, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      while (!existsSync(file(stage, 'reached'))) {
        if (Date.now() > deadline) throw new Error(`no job reached the held ${stage} stage within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    release,
    releaseAll() {
      for (const stage of ['generate', 'decode', 'encode'] as const) release(stage);
    },
  };
}
