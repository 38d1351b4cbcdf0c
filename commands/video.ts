// /video (Discord), /gen (Telegram), `npm run video` (CLI): validate, snap to a preset, reserve quota, enqueue.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatContext } from '../src/core/chat-context.ts';
import { type Command, type CommandServices, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { placeJob } from '../src/core/priority-tiers.ts';
import { validatePrompt } from '../src/core/prompt.ts';
import { userSettingsStore } from '../src/core/user-settings.ts';
import { MAX_SEED, chooseSeed, snapToPreset } from '../src/core/snap-to-preset.ts';
import { formatDuration } from '../src/core/locale.ts';
import { DEFAULT_LOCALE, text } from '../src/core/texts.ts';
import { JOB_PAYLOAD_VERSION, type JobRequest } from '../src/queue/job-contract.ts';
import { type Preset, imagePresetNames, presetModel, takesImage } from '../config/presets.ts';
import { type ImageUpload, imageTooBig, isImageUpload } from '../src/core/image-upload.ts';
import { imageLimits, prepareImage } from '../src/media/image-input.ts';
import { liveModels } from '../src/queue/fleet-readings.ts';
import { JobImages } from '../src/queue/job-images.ts';

/** The input as people give it; the prompt's clean-up and the preset's snapping are the pre-check's job. */
export const videoInputSchema = z.object({
  prompt: z.string().min(1).meta({ description: text('command.video.prompt'), text: true, invalid: { code: 'prompt_empty' } }),
  preset: z.string().optional().meta({ description: text('command.video.preset'), placeholder: 'NAME' }),
  // Coerced: forms and typed commands give text ("42"); "12abc" still fails and gets bad_seed.
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_SEED)
    .optional()
    .meta({ description: text('command.video.seed'), placeholder: 'N', invalid: { code: 'bad_seed', params: { max: MAX_SEED } } }),
  negativePrompt: z.string().optional().meta({ description: text('command.video.negative'), alias: 'negative', placeholder: '"blurry, text"' }),
  smooth: z.boolean().optional().meta({ description: text('command.video.smooth'), placeholder: 'yes' }),
  // A picture (image-to-video presets): the platform hands it over; it is never typed.
  image: z.custom<ImageUpload>(isImageUpload).optional().meta({ description: text('command.video.image'), attachment: true }),
});

export type VideoInput = z.infer<typeof videoInputSchema>;

/** A video request as queueVideo takes it: the user's input, or an earlier job's for a reroll. */
export interface VideoRequest {
  prompt?: string;
  negativePrompt?: string;
  preset?: string;
  seed?: number | string;
  smooth?: boolean;
  /** A picture sent with the command (image-to-video). */
  image?: ImageUpload;
  /** A reroll of an image-to-video job: the earlier job whose stored picture is used again. */
  imageOf?: string;
  rerollOf?: string;
}

/** An ETA as a person reads it, in their language (seconds, minutes, hours; Intl digits). */
export function formatEta(seconds: number, locale: string = DEFAULT_LOCALE): string {
  return formatDuration(seconds, locale);
}

/**
 * The checks that need no I/O (prompt, preset, seed): throws the UserFacingError to show. Platforms that must
 * acknowledge quickly (Discord) run it before acknowledging, so bad input gets a private answer at once.
 */
export function checkVideoInput(input: VideoRequest, services: Pick<CommandServices, 'env' | 'presets' | 'blocklist'>) {
  const prompt = validatePrompt(input.prompt, services.env.PROMPT_MAX_CHARS, services.blocklist);
  const negativePrompt = input.negativePrompt ? validatePrompt(input.negativePrompt, services.env.PROMPT_MAX_CHARS, services.blocklist) : '';
  const withPicture = input.image !== undefined || input.imageOf !== undefined;
  // A picture with no preset named goes to the first image-to-video preset; a named one must take a picture.
  const preset = snapToPreset(services.presets, input.preset ?? (withPicture ? imagePresetNames(services.presets)[0] : undefined));
  if (takesImage(preset) && !withPicture) throw new UserFacingError('image_required', { preset: preset.name });
  if (!takesImage(preset) && withPicture) throw new UserFacingError('image_not_accepted', { preset: preset.name, choices: imagePresetNames(services.presets).join(', ') || '-' });
  const seed = chooseSeed(input.seed);
  return { prompt, negativePrompt, preset, seed };
}

/**
 * Refuses at once a preset whose model no live worker holds (its job would wait in a queue nobody serves), naming
 * the presets that can run now. With no worker alive at all the job is queued as before: it runs when one starts.
 */
async function assertModelServed(preset: Preset, services: CommandServices): Promise<{ workers: number; models: Set<string> }> {
  const live = await liveModels(services.queue);
  const model = presetModel(preset);
  if (live.workers === 0 || live.models.has(model)) return live;
  const available = services.presets.names.filter((name) => live.models.has(presetModel(services.presets.byName.get(name)!)));
  throw new UserFacingError('preset_unavailable', { preset: preset.name, model, choices: available.join(', ') });
}

/** The picture, fetched within IMAGE_MAX_BYTES, checked and shaped for the preset, stored under the job id. */
async function storePicture(input: VideoRequest, preset: Preset, requestId: string, services: CommandServices, images: JobImages): Promise<JobRequest['image']> {
  if (input.imageOf) {
    const from = (await services.queue.getJob(input.imageOf))?.data?.image;
    if (!from || !(await images.copy(input.imageOf, requestId))) throw new UserFacingError('image_expired');
    return from;
  }
  if (!input.image) return undefined;
  const limits = imageLimits(services.env);
  if (input.image.declaredBytes !== undefined && input.image.declaredBytes > limits.maxBytes) throw imageTooBig(input.image.declaredBytes, limits.maxBytes);
  const prepared = await prepareImage(await input.image.fetch(limits.maxBytes), { width: preset.width, height: preset.height }, limits);
  await images.save(requestId, prepared.png);
  return { sha256: prepared.sha256, width: prepared.width, height: prepared.height };
}

/** Turns a valid input into a queued job and tells the user where it stands; returns the job id. */
export async function queueVideo(ctx: ChatContext, input: VideoRequest, services: CommandServices): Promise<string> {
  if (services.redis.status !== 'ready') throw new UserFacingError('queue_unavailable');
  const owner = userKey(ctx);
  // Remembered defaults (/settings) fill what the command left out; what it says explicitly wins.
  const settings = await userSettingsStore(services).get(owner);
  const storedPreset = settings.preset && services.presets.byName.has(settings.preset) ? settings.preset : undefined;
  const withDefaults: VideoRequest = {
    ...input,
    ...(input.preset === undefined && storedPreset ? { preset: storedPreset } : {}),
    ...(input.negativePrompt === undefined && settings.negativePrompt ? { negativePrompt: settings.negativePrompt } : {}),
  };
  // A remembered preset applies only to what it can run: a text preset not to a picture (the picture picks an image
  // preset), an image preset not to a text-only request (the default preset runs it).
  if (input.preset === undefined && withDefaults.preset) {
    if (takesImage(services.presets.byName.get(withDefaults.preset)!) !== Boolean(input.image || input.imageOf)) delete withDefaults.preset;
  }
  const { prompt, negativePrompt, preset, seed } = checkVideoInput(withDefaults, services);
  const fleet = await assertModelServed(preset, services);
  const requestId = randomUUID();

  // The tier (src/core/priority-tiers.ts): priority by role or PRIORITY_IDS, relax once today's GPU seconds are spent,
  // and inside a tier a fair-share turn behind everyone's earlier jobs.
  const [usedSeconds, pendingAhead] = await Promise.all([services.queue.gpuSeconds.used(owner), services.quota.pendingJobs(owner)]);
  const isPriority = ctx.user.isPriority === true || services.env.PRIORITY_IDS.includes(owner);
  const placement = placeJob(isPriority, usedSeconds, services.env.GPU_SECONDS_PER_DAY, pendingAhead.length);

  await services.quota.reserve(owner, requestId);
  const images = new JobImages(services.redis, services.queue.key(), services.env.IMAGE_TTL_SECONDS);
  let enqueued;
  try {
    const image = await storePicture(input, preset, requestId, services, images);
    const request: JobRequest = {
      v: JOB_PAYLOAD_VERSION,
      requestId,
      prompt,
      negativePrompt,
      preset: preset.name,
      seed,
      user: { id: ctx.user.id, name: ctx.user.name, platform: ctx.user.platform },
      delivery: await ctx.deliveryTarget(),
      ...(ctx.locale ? { locale: ctx.locale } : {}),
      ...(settings.stats ? { stats: settings.stats } : {}),
      ...(input.smooth ? { smooth: true } : {}),
      ...(image ? { image } : {}),
      ...(input.rerollOf ? { rerollOf: input.rerollOf } : {}),
      createdAt: Date.now(),
    };
    enqueued = await services.queue.enqueue(request, placement, { served: fleet.models.has(presetModel(preset)) });
  } catch (err) {
    await services.quota.refund(owner, requestId).catch(() => undefined);
    await images.remove(requestId).catch(() => undefined);
    throw err;
  }
  services.log('info', 'job queued', { jobId: enqueued.jobId, user: owner, preset: preset.name, position: enqueued.position, tier: placement.tier });
  const locale = ctx.locale;
  await ctx.reply({
    kind: 'accepted',
    text: [
      text('video.queued', { position: enqueued.position, eta: formatEta(enqueued.etaSeconds, locale) }, locale),
      text(preset.tradesFidelity ? 'video.preset_line_fast' : 'video.preset_line', { preset: preset.name, seed }, locale),
      ...(placement.tier === 'relax' ? [text('video.relax', { minutes: Math.round(services.env.GPU_SECONDS_PER_DAY / 60) }, locale)] : []),
      ...(placement.tier === 'priority' ? [text('video.priority', {}, locale)] : []),
      // No worker at all (all down, or not started yet): the job waits, and the user knows why.
      ...(fleet.workers === 0 ? [text('video.no_worker', {}, locale)] : []),
    ].join('\n'),
    buttons: [{ action: 'cancel', jobId: enqueued.jobId, label: text('button.cancel', {}, locale) }],
    jobId: enqueued.jobId,
  });
  return enqueued.jobId;
}

export const videoCommand = {
  name: 'video',
  description: text('command.video'),
  input: videoInputSchema,
  words: { telegram: 'gen' },
  ack: 'public',
  order: 1,
  examples: [text('help.example_prompt'), text('help.example_options')],
  hints: ({ env, presets }) => ({
    prompt: { maxLength: env.PROMPT_MAX_CHARS },
    // The negative prompt follows the prompt's rules (length, blocklist: checkVideoInput).
    negativePrompt: { maxLength: env.PROMPT_MAX_CHARS },
    preset: {
      choices: presets.names.map((name) => ({
        value: name,
        ...(name === presets.defaultName ? { tag: text('command.default_tag') } : {}),
        description: presets.byName.get(name)?.description ?? '',
      })),
    },
  }),
  precheck(input, services) {
    checkVideoInput(input, services);
  },
  async execute(ctx, input, services) {
    await queueVideo(ctx, input, services);
  },
} satisfies Command<VideoInput>;

export default videoCommand;
