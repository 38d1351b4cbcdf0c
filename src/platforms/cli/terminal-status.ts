// A job's status as one terminal line (the CLI's "status message"), rendered from the one status model.
import type { JobEvent } from '../../queue/job-events.ts';
import { progressBar, statusModel } from '../status-model.ts';

export function renderTerminalStatus(event: JobEvent, job: { preset: string; seed: number }): string {
  const model = statusModel({ event, preset: job.preset, seed: job.seed });
  const bar = model.progress ? ` [${progressBar(model.progress.step, model.progress.steps, ['#', '.'], 24)}] ${model.progress.step}/${model.progress.steps}` : '';
  return `  ${model.headline}${bar}${model.note ? ` ${model.note}` : ''}`;
}
