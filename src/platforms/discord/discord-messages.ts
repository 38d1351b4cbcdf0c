// What the outbound side writes on Discord: the status message rendered from the status model, the video's message.
import type { APIEmbed, RESTPatchAPIWebhookWithTokenMessageJSONBody } from 'discord-api-types/v10';
import type { ReplyButton } from '../../core/chat-context.ts';
import { type JobStats, formatStats } from '../../core/stats.ts';
import { text } from '../../core/texts.ts';
import type { JobRequest } from '../../queue/job-contract.ts';
import type { JobStatus } from '../../queue/job-events.ts';
import { progressBar, statusModel } from '../status-model.ts';
import { buttonRows } from './buttons.ts';

const EMBED_BLUE = 0x5865f2;
const ICONS = { starting: '⚙️', generating: '🎨', decoding: '🎞️', encoding: '📦', uploading: '📤', done: '✅', failed: '❌', cancelled: '✖️' } as const;

/** `▰▰▰▱▱▱…` step/steps in a fixed-width bar (monospace so it does not jiggle as it fills). */
export function discordProgressBar(step: number, steps: number): string {
  return `\`${progressBar(step, steps, ['▰', '▱'])}\` ${Math.round((step / Math.max(1, steps)) * 100)}%`;
}

/**
 * The status message for a status, from the one status model; null for done (the delivery already turned the
 * message into the video). A failure's reason is not here: it goes to the requester alone (failureDetail).
 */
export function renderStatusMessage(status: JobStatus): RESTPatchAPIWebhookWithTokenMessageJSONBody | null {
  const model = statusModel(status);
  const body = (content: string, buttons: ReplyButton[]) => ({ content, embeds: [], components: buttonRows(buttons), allowed_mentions: { parse: [] } });
  const cancel: ReplyButton[] = [{ action: 'cancel', jobId: status.jobId, label: text('button.cancel', {}, status.locale) }];
  switch (model.stage) {
    case 'queued':
      // The words of the accepted reply, so the message reads as one story from the first answer on.
      return body(`${model.headline}\n${model.presetLine}`, cancel);
    case 'generating': {
      const { step, steps } = model.progress!;
      return body(`${ICONS.generating} ${text('status.generating_step', { step, steps }, status.locale)}\n${discordProgressBar(step, steps)}`, cancel);
    }
    case 'starting':
    case 'decoding':
    case 'encoding':
      return body(`${ICONS[model.stage]} ${model.headline}`, cancel);
    case 'uploading':
      return body(`${ICONS.uploading} ${model.headline}`, []);
    case 'done':
      return null;
    case 'failed':
      return body(`${ICONS.failed} ${model.headline}`, [{ action: 'reroll', jobId: status.jobId, label: text('button.try_again', {}, status.locale) }]);
    case 'cancelled':
      return body(`${ICONS.cancelled} ${model.headline}`, []);
  }
}

/** What the requester alone is told about a failure (null: nothing to add). */
export function failureDetail(status: JobStatus): string | null {
  return status.event.stage === 'failed' ? (statusModel(status).note ?? null) : null;
}

/** Keeps a prompt from turning into Discord markdown (bold, links, spoilers) in titles and content. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>[\]()#-])/g, '\\$1');
}

// Cut on a character boundary: half an emoji (a lone surrogate) is not valid text for the API.
const clip = (value: string, max: number) => (value.length > max ? `${value.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, '')}…` : value);

/** The finished video: the MP4 attachment, an embed of the timing stats, and a Reroll button. */
/** The stats embed of a posted clip (edited again once the upload was timed). */
export function resultEmbeds(job: JobRequest, jobId: string, stats: JobStats): APIEmbed[] {
  const locale = job.locale;
  return [
    {
      title: clip(escapeMarkdown(job.prompt), 256),
      description: formatStats(stats, locale, job.stats),
      color: EMBED_BLUE,
      footer: { text: [text('delivery.job_footer', { jobId }, locale), ...(job.rerollOf ? [text('delivery.reroll_of', { jobId: job.rerollOf }, locale)] : [])].join(' · ') },
    },
  ];
}

export function resultMessage(job: JobRequest, jobId: string, stats: JobStats, fileName: string, reencoded: boolean, resent = false): RESTPatchAPIWebhookWithTokenMessageJSONBody {
  const locale = job.locale;
  return {
    content: `✅ ${text(reencoded ? 'status.done_reencoded' : 'status.done', {}, locale)}${resent ? `\n${text('delivery.sent_again', {}, locale)}` : ''}`,
    embeds: resultEmbeds(job, jobId, stats),
    // Cancel has nothing left to stop once the clip is posted: the finished message only offers a reroll.
    components: buttonRows([{ action: 'reroll', jobId, label: text('button.reroll', {}, locale) }]),
    attachments: [{ id: 0, filename: fileName, description: clip(job.prompt, 1024) }],
    allowed_mentions: { parse: [] },
  };
}
