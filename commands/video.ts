// /video (Discord), /gen (Telegram), `npm run video` (CLI): validate, snap to a preset, reserve quota, enqueue.
import { randomUUID } from 'node:crypto';
import type { ChatContext } from '../src/core/chat-context.ts';
import { type Command, type CommandServices, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { text } from '../src/core/texts.ts';
import { validatePrompt } from '../src/core/prompt.ts';
import { chooseSeed, snapToPreset } from '../src/core/snap-to-preset.ts';
import { JOB_PAYLOAD_VERSION, type JobRequest } from '../src/queue/job-contract.ts';

export interface VideoInput {
  prompt?: string;
  negativePrompt?: string;
  preset?: string;
  seed?: number | string;
  rerollOf?: string;
}

export function formatEta(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

/**
 * The checks that need no I/O (prompt, preset, seed): throws the UserFacingError to show. Adapters that must
 * acknowledge quickly (Discord) run it before acknowledging, so bad input gets a private answer at once.
 */
export function checkVideoInput(input: VideoInput, services: Pick<CommandServices, 'env' | 'presets' | 'blocklist'>) {
  const prompt = validatePrompt(input.prompt, services.env.PROMPT_MAX_CHARS, services.blocklist);
  const negativePrompt = input.negativePrompt ? validatePrompt(input.negativePrompt, services.env.PROMPT_MAX_CHARS, services.blocklist) : '';
  const preset = snapToPreset(services.presets, input.preset);
  const seed = chooseSeed(input.seed);
  return { prompt, negativePrompt, preset, seed };
}

/** Turns a valid input into a queued job and tells the user where it stands; returns the job id. */
export async function queueVideo(ctx: ChatContext, input: VideoInput, services: CommandServices): Promise<string> {
  if (services.redis.status !== 'ready') throw new UserFacingError('queue_unavailable');
  const { prompt, negativePrompt, preset, seed } = checkVideoInput(input, services);
  const requestId = randomUUID();
  const owner = userKey(ctx);

  await services.quota.reserve(owner, requestId);
  let enqueued;
  try {
    const request: JobRequest = {
      v: JOB_PAYLOAD_VERSION,
      requestId,
      prompt,
      negativePrompt,
      preset: preset.name,
      seed,
      user: { id: ctx.user.id, name: ctx.user.name, platform: ctx.user.platform },
      delivery: await ctx.deliveryTarget(),
      ...(input.rerollOf ? { rerollOf: input.rerollOf } : {}),
      createdAt: Date.now(),
    };
    enqueued = await services.queue.enqueue(request);
  } catch (err) {
    await services.quota.refund(owner, requestId).catch(() => undefined);
    throw err;
  }
  services.log('info', 'job queued', { jobId: enqueued.jobId, user: owner, preset: preset.name, position: enqueued.position });
  await ctx.reply({
    kind: 'accepted',
    text: [
      text('video.queued', { position: enqueued.position, eta: formatEta(enqueued.etaSeconds) }),
      text(preset.tradesFidelity ? 'video.preset_line_fast' : 'video.preset_line', { preset: preset.name, seed }),
    ].join('\n'),
    buttons: [{ action: 'cancel', jobId: enqueued.jobId, label: text('button.cancel') }],
  });
  return enqueued.jobId;
}

export default {
  name: 'video',
  description: 'Generate a short video from a text prompt',
  async execute(ctx, input, services) {
    await queueVideo(ctx, input, services);
  },
} satisfies Command<VideoInput>;
