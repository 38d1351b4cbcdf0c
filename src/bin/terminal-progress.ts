// `npm run video`'s status message: on a terminal one cli-progress bar for the denoising steps with the status
// model's headline beside it; where stderr is not a terminal (a pipe, CI), one terminal-status line per change.
import cliProgress from 'cli-progress';
import { renderTerminalStatus } from '../platforms/cli/terminal-status.ts';
import { statusModel } from '../platforms/status-model.ts';
import type { JobEvent } from '../queue/job-events.ts';

export interface ProgressDisplay {
  update(event: JobEvent): void;
  stop(): void;
}

export function terminalProgress(job: { preset: string; seed: number }, stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  if (!stream.isTTY) return plainLines(job, stream);
  const bar = new cliProgress.SingleBar(
    { stream, format: '  {stage} |{bar}| {value}/{total} steps · {duration_formatted}', hideCursor: true, clearOnComplete: false, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(event) {
      const model = statusModel({ event, preset: job.preset, seed: job.seed });
      const steps = 'steps' in event && event.steps !== undefined ? event.steps : undefined;
      if (!started) {
        bar.start(steps ?? 1, 0, { stage: model.headline });
        started = true;
      }
      if (steps !== undefined) bar.setTotal(steps);
      // Past the denoising steps the bar stays full while the headline says what comes next.
      const step = 'step' in event && event.step !== undefined ? event.step : event.stage === 'queued' ? 0 : bar.getTotal();
      bar.update(step, { stage: model.headline });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function plainLines(job: { preset: string; seed: number }, stream: NodeJS.WritableStream): ProgressDisplay {
  let last = '';
  return {
    update(event) {
      const line = renderTerminalStatus(event, job);
      if (line === last) return;
      last = line;
      stream.write(`${line}\n`);
    },
    stop() {},
  };
}

/** The CLI shows its own progress: worker and engine log lines only with LOG_LEVEL=debug (or trace). */
export function cliLogLevel<L extends string>(configured: L): L | 'error' {
  return ['debug', 'trace', 'fatal', 'silent'].includes(configured) ? configured : 'error';
}
