// What the worker writes on Discord: the status line as a job moves, the finished video's message, failures.
import type { RESTPatchAPIWebhookWithTokenMessageJSONBody } from 'discord-api-types/v10';
import { buttonRows } from './buttons.ts';
import { renderUserMessage } from '../../core/errors.ts';
import { text } from '../../core/texts.ts';
import { type JobStats, formatStats } from '../../core/stats.ts';
import type { JobProgress, JobRequest } from '../../queue/job-contract.ts';
import { type DeliveryFailure } from '../delivery.ts';

const BAR_CELLS = 12;
const EMBED_BLUE = 0x5865f2;

/** `▰▰▰▱▱▱…` step/steps in a fixed-width bar (monospace so it does not jiggle as it fills). */
export function progressBar(step: number, steps: number): string {
  const done = Math.max(0, Math.min(BAR_CELLS, Math.round((step / Math.max(1, steps)) * BAR_CELLS)));
  return `\`${'▰'.repeat(done)}${'▱'.repeat(BAR_CELLS - done)}\` ${Math.round((step / Math.max(1, steps)) * 100)}%`;
}

export function progressText(update: JobProgress & { position?: number }): string {
  switch (update.stage) {
    case 'queued':
      return update.position ? `⏳ Queued: #${update.position} in line` : '⏳ Queued';
    case 'starting':
      return '⚙️ Starting…';
    case 'generating': {
      const steps = update.steps ?? 0;
      const step = update.step ?? 0;
      return steps > 0 ? `🎨 Generating · step ${step}/${steps}\n${progressBar(step, steps)}` : '🎨 Generating…';
    }
    case 'decoding':
      return '🎞️ Decoding frames…';
    case 'encoding':
      return '📦 Encoding the MP4…';
    case 'delivering':
      return '📤 Uploading…';
    case 'done':
      return '✅ Done';
  }
}

/** Keeps a prompt from turning into Discord markdown (bold, links, spoilers) in titles and content. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>[\]()#-])/g, '\\$1');
}

// Cut on a character boundary: half an emoji (a lone surrogate) is not valid text for the API.
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, '')}…` : text);

/** The finished video: the MP4 attachment, an embed of the timing stats, and a Reroll button. */
export function resultMessage(job: JobRequest, jobId: string, stats: JobStats, fileName: string, reencoded: boolean, resent = false): RESTPatchAPIWebhookWithTokenMessageJSONBody {
  return {
    content: `✅ Done${reencoded ? ' (re-encoded to fit the upload limit)' : ''}${resent ? `\n${text('delivery.sent_again')}` : ''}`,
    embeds: [
      {
        title: clip(escapeMarkdown(job.prompt), 256),
        description: formatStats(stats),
        color: EMBED_BLUE,
        footer: { text: `job ${jobId}${job.rerollOf ? ` · reroll of ${job.rerollOf}` : ''}` },
      },
    ],
    // Cancel has nothing left to stop once the clip is posted: the finished message only offers a reroll.
    components: buttonRows([{ action: 'reroll', jobId, label: 'Reroll' }]),
    attachments: [{ id: 0, filename: fileName, description: clip(job.prompt, 1024) }],
    allowed_mentions: { parse: [] },
  };
}

/** The public line on the status message, and the private detail the requester can act on (null: nothing to add). */
export function failureTexts(jobId: string, failure: DeliveryFailure): { status: RESTPatchAPIWebhookWithTokenMessageJSONBody; detail: string | null } {
  if (failure.code === 'cancelled') {
    return { status: { content: `✖️ ${renderUserMessage('cancelled')}`, embeds: [], components: [], allowed_mentions: { parse: [] } }, detail: null };
  }
  return {
    status: { content: '❌ This video could not be made.', embeds: [], components: buttonRows([{ action: 'reroll', jobId, label: 'Try again' }]), allowed_mentions: { parse: [] } },
    detail: renderUserMessage(failure.code, { reason: failure.message }),
  };
}
