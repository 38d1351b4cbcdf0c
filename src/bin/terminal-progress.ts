// `npm run video`'s progress on a terminal: one cli-progress bar for the denoising steps with the stage beside
// it; where stderr is not a terminal (a pipe, CI), one plain line per stage change instead.
import cliProgress from 'cli-progress';
import type { JobProgress } from '../queue/job-contract.ts';

const STAGE_WORDS: Record<JobProgress['stage'], string> = {
  queued: 'queued',
  starting: 'starting',
  generating: 'generating',
  decoding: 'decoding frames',
  encoding: 'encoding MP4',
  delivering: 'saving',
  done: 'done',
};

/** The stage as a person reads it; after the last denoising step the engine decodes the frames (VAE). */
export function stageWords(p: JobProgress): string {
  if (p.stage === 'generating' && p.steps !== undefined && p.step === p.steps) return STAGE_WORDS.decoding;
  return STAGE_WORDS[p.stage];
}

export interface ProgressDisplay {
  update(progress: JobProgress): void;
  stop(): void;
}

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  if (!stream.isTTY) return plainLines(stream);
  const bar = new cliProgress.SingleBar(
    { stream, format: '  {stage} |{bar}| {value}/{total} steps · {duration_formatted}', hideCursor: true, clearOnComplete: false, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const stage = stageWords(p);
      if (!started) {
        bar.start(p.steps ?? 1, p.step ?? 0, { stage });
        started = true;
      }
      if (p.steps) bar.setTotal(p.steps);
      // Past the last step the bar stays full while the stage word says what comes after denoising.
      bar.update(p.stage === 'generating' ? (p.step ?? 0) : p.steps ? (p.step ?? 0) : bar.getTotal(), { stage });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function plainLines(stream: NodeJS.WritableStream): ProgressDisplay {
  let last = '';
  return {
    update(p) {
      const line = `  ${stageWords(p)}${p.steps ? ` ${p.step ?? 0}/${p.steps}` : ''}`;
      if (line === last) return;
      last = line;
      stream.write(`${line}\n`);
    },
    stop() {},
  };
}

/** The CLI shows its own progress: worker and engine log lines only with LOG_LEVEL=debug (or trace). */
export function cliLogLevel(configured: string): string {
  return ['debug', 'trace', 'fatal', 'silent'].includes(configured) ? configured : 'error';
}
