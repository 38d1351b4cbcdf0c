// The one catalogue of user-visible texts, keyed by id: every word a person sees on any platform (the ground for languages).
//
// Texts are plain: each platform escapes them and adds its own markup (bold, code, embeds) around them.
// `{name}` marks a parameter; a missing parameter stays visible as `{name}` rather than vanishing.
// English is written here; the other languages live in src/core/locales/, all served through i18next.
import i18next from 'i18next';
import { ru } from './locales/ru.ts';
import { zhCN } from './locales/zh-CN.ts';

/** User-visible failures: each id is also a `UserFacingError` code (see errors.ts). */
export const ERROR_TEXTS = {
  prompt_empty: 'Please describe the video: the prompt is empty.',
  prompt_too_long: 'That prompt is too long ({length} characters); the limit is {max}.',
  prompt_blocked: 'That prompt contains words this bot does not accept. Please rephrase it.',
  unknown_preset: 'Unknown preset "{preset}". Choose one of: {choices}.',
  bad_seed: 'The seed must be a whole number from 0 to {max}.',
  bad_option: 'I did not understand "{option}". Options look like preset=draft seed=42.',
  quota_pending: 'You already have {count} videos in the queue (limit {max}). Wait for one to finish.',
  quota_hourly: 'You have reached {max} videos this hour. Try again in about {minutes} minutes.',
  rate_limited: 'Too many requests right now. Try again in a few seconds.',
  queue_full: 'The queue is full ({waiting} videos waiting). Please try again later.',
  queue_unavailable: 'The video queue is unavailable right now. Please try again in a minute.',
  not_admin: 'Sorry, this command is not available to you.',
  job_not_found: 'That video request no longer exists.',
  bad_job_id: 'That is not a video of this bot: the button or id is not valid.',
  not_your_job: 'You can only cancel your own videos.',
  reroll_not_allowed: 'You can only reroll your own videos, or videos made in this chat.',
  not_this_message: 'That button does not belong to this message.',
  private_only: 'I answer this only in a private chat: message me directly{bot} and ask there.',
  job_finished: 'That video has already finished.',
  engine_failed: 'The video could not be generated: {reason}',
  cancelled: 'Cancelled.',
  cancel_too_late: 'Too late to cancel: the video is being posted.',
  internal: 'Something went wrong on our side. Please try again.',
  bad_language: 'Unknown language "{language}". Choose one of: {choices}.',
  bad_stats_mode: 'The stats are shown "full" or "short", not "{value}".',
  bad_setting: 'There is no setting "{setting}". Settings: {choices}.',
  preset_unavailable: 'Preset "{preset}" needs {model}, and no GPU worker holds it right now. Available now: {choices}.',
  image_required: 'Preset "{preset}" animates a photo: send a picture with the command (as its caption, or in reply to it).',
  image_not_accepted: 'Preset "{preset}" makes a video from text only. For a photo, choose one of: {choices}.',
  image_not_image: 'That file is not a picture I can read: send a JPEG, PNG or WebP photo.',
  image_too_big: 'That picture is too big ({size}); the limit is {max}.',
  image_too_small: 'That picture is too small ({width}x{height}); each side must be at least {min} pixels.',
  image_too_many_pixels: 'That picture has too many pixels ({width}x{height}); the limit is {max} megapixels.',
  image_animated: 'That picture is animated: send a still photo.',
  image_unavailable: 'I could not fetch that picture. Please send it again.',
  image_expired: 'The photo of that video is no longer kept, so it cannot be rerolled. Send the photo again.',
} as const;

/** Everything else a person reads: replies, status stages, buttons, menus, help, captions, the CLI. */
export const MESSAGE_TEXTS = {
  // The caption and banner of every clip the tiny demo model made.
  demo_model: 'demo model: the clips are noise; set ENGINE_MODEL to a CogVideoX-2b directory',
  // Replies of the commands.
  'video.queued': 'Queued: #{position} in line, ready in about {eta}.',
  'video.preset_line': '{preset} · seed {seed}',
  'video.relax': 'Relax mode: your {minutes} GPU minutes for today are used up, so this one waits behind the others (it is not refused).',
  'video.priority': 'Priority: this one goes ahead of the queue.',
  'video.no_worker': 'No GPU worker is running right now: your video waits until one starts.',
  'video.preset_line_fast': '{preset} (fast, lower fidelity) · seed {seed}',
  'video.queuing': 'Queuing your video…',
  'cancel.done_one': 'Cancelled.',
  'cancel.done_many': 'Cancelled {count} videos.',

  // The job's status message as it moves (rendered by each platform's outbound side).
  'status.queued': 'Queued',
  'status.queued_position': 'Queued: #{position} in line',
  'status.starting': 'Starting…',
  'status.generating': 'Generating',
  'status.generating_step': 'Generating · step {step}/{steps}',
  'status.step': 'step {step}/{steps}',
  'status.decoding': 'Decoding frames…',
  'status.encoding': 'Encoding the MP4…',
  'status.uploading': 'Uploading…',
  'status.done': 'Done',
  'status.done_in': 'Done in {seconds} s: the video is below.',
  'status.done_posted_below': 'Done: the video is posted below.',
  'status.done_reencoded': 'Done (re-encoded to fit the upload limit)',
  'status.failed': 'This video could not be made.',
  'status.cancelled': 'Cancelled.',
  'delivery.video_ready': 'your video is ready',
  // A clip posted again after an attempt died while posting it, where the platform cannot be read back.
  'delivery.sent_again': 'Sent again: an earlier try may already have posted this video.',
  'delivery.video_ready_reencoded': 'your video is ready (re-encoded to fit the upload limit)',
  'delivery.sent_as_file': 'Sent as a file: Telegram did not accept it as a playable video.',
  'delivery.reencoded_to_fit': "Re-encoded from {from} to {to} to fit {platform}'s {limit} upload limit.",
  'delivery.reroll_of': 'reroll of {jobId}',
  'delivery.job_footer': 'job {jobId}',

  // Buttons.
  'button.cancel': 'Cancel',
  'button.reroll': 'Reroll',
  'button.regenerate': '🔁 Regenerate',
  'button.try_again': 'Try again',

  // Commands as menus and registrations show them.
  'command.video': 'Generate a short video from a text prompt',
  'command.video.menu': 'Make a short video: /{command} a red fox in the snow | preset=draft seed=42',
  'command.video.prompt': 'What the video shows',
  'command.video.preset': 'Quality and speed',
  'command.video.smooth': 'Smooth: twice the frame rate by motion interpolation (a post-process, takes a little longer)',
  'command.video.image': 'A photo to animate (image-to-video presets)',
  'command.video.seed': 'The same prompt and seed give the same video',
  'command.video.negative': 'What to keep out of the video',
  'command.cancel': 'Cancel your queued or running video',
  'command.cancel.menu': 'Cancel your queued or running videos',
  'command.cancel.job': 'The id of the video to cancel (default: all of yours)',
  'command.reroll': 'Generate the same prompt again with a new seed',
  'command.gpu_status': 'GPU workers, queue and Redis health (admins only)',
  'command.gpu_status.group': 'GPU fleet (admins only)',
  'command.gpu_status.sub': 'GPU workers, queue and Redis health',
  'command.help': 'How to use this bot: options, limits, buttons',
  'command.default_tag': ' (default)',
  'command.settings': 'Your defaults: preset, negative prompt, language, stats',
  'command.settings.preset': 'The preset your videos use when you name none',
  'command.settings.negative': 'What to keep out of your videos when you give no negative prompt',
  'command.settings.language': 'The language the bot answers you in',
  'command.settings.stats': 'The timing stats under your videos: full or short',
  'command.settings.reset': 'Forget your settings',
  // Command names as Discord shows them in each language (the word typed stays the English one).
  'discord.name.video': 'video',
  'discord.name.settings': 'settings',

  // /settings.
  'settings.title': 'Your settings',
  'settings.saved': 'Saved. Your settings:',
  'settings.reset_done': 'Your settings are forgotten: the bot defaults apply again.',
  'settings.line_preset': 'Preset: {value}',
  'settings.line_negative': 'Negative prompt: {value}',
  'settings.line_language': 'Language: {value}',
  'settings.line_stats': 'Stats: {value}',
  'settings.unset': '(bot default)',
  'settings.hint': 'Change them with /settings preset=draft language=ru stats=short negative="blurry"; /settings reset forgets them.',
  'settings.stats_full': 'full',
  'settings.stats_short': 'short',
  'settings.choose_language': 'Language',
  'settings.choose_stats': 'Stats',
  'settings.choose_preset': 'Preset',

  // Durations and the language names.
  'unit.seconds': '{n} s',
  'unit.minutes': '{n} min',
  'unit.hours': '{n} h',
  'language.en': 'English',
  'language.zh-CN': '简体中文',
  'language.ru': 'Русский',

  // /start and /help.
  'help.title': 'Short AI videos from a sentence.',
  'help.example_prompt': 'a red fox running through snow at dawn',
  'help.example_options': 'a paper boat on a river | preset=draft seed=42',
  'help.options_intro': '{options} go after a {bar}:',
  'help.options_word': 'Options',
  'help.option_preset': '{option}, one of:',
  'help.option_seed': '{option}: a whole number; the same prompt, preset and seed give the same video',
  'help.option_negative': '{option}: what to keep out of the video',
  'help.flow': 'The reply shows your place in the queue, then progress. Tap {cancel} or send /cancel to stop it; {regenerate} under a video makes another take with a new seed.',
  'help.flow_cancel': 'Cancel',
  'help.flow_regenerate': 'Regenerate',
  'help.limits': 'Prompts up to {maxChars} characters · {pending} videos in the queue at once · {hourly} per hour.',
  'help.photo': 'To animate a photo, send it with {command} as its caption, or reply to it with {command}: presets {presets}.',
  'help.groups': 'In groups, address me: {example}',
  'help.other_commands': 'Also: {commands}',
  'help.not_a_command': 'Send /{command} followed by a description of the video, e.g. /{command} a red fox in the snow. /help lists the options.',

  // The timing stats under every video.
  'stats.shape': '{preset} · {width}x{height} · {frames} frames @ {fps} fps · {steps} steps · seed {seed}',
  'stats.cached': 'reused a stored result · queue {queue}',
  'stats.stages': 'queue {queue} · text {text} · denoise {denoise} ({perStep}/step)',
  'stats.decode_encode': 'VAE {vae} · MP4 {mp4}',
  'stats.smooth': ' · smooth {smooth} (post-process, {fps} fps)',
  'stats.upload': ' · upload {upload}',
  'stats.end_to_end': 'end to end {seconds}',
  'stats.cpu': 'CPU',
  'stats.peak': 'peak {vram}',
  'stats.util': 'util {percent}%',

  // The web page (src/platforms/web).
  'web.title': 'cogcast',
  'web.tagline': 'Short AI videos from a sentence.',
  'web.prompt': 'Prompt',
  'web.prompt_hint': 'What the video shows, up to {max} characters',
  'web.preset': 'Preset',
  'web.seed': 'Seed (optional)',
  'web.seed_hint': 'The same prompt, preset and seed give the same video',
  'web.negative': 'Negative prompt (optional)',
  'web.image': 'Photo to animate (optional)',
  'web.submit': 'Make the video',
  'web.settings_save': 'Save my settings',
  'web.settings_reset': 'Forget my settings',
  'web.recent': 'Your clips',
  'web.none_yet': 'No clips yet: yours appear here, newest first.',
  'web.eta': 'ready in about {eta}',
  'web.running_eta': 'about {eta} left',
  'web.seed_line': 'seed {seed}',
  'web.forged': 'This form did not come from this page. Reload the page and try again.',
  'web.sign_in': 'This page needs its access token: open the link with ?token=… that the operator gave you.',
  'web.no_script': 'This page needs JavaScript for live progress.',
  'web.clip_missing': 'This clip is no longer stored.',
  'web.live_lost': 'Live updates interrupted; reconnecting…',
  'web.not_found': 'Not found.',

  // The CLI (`npm run video`).
  'cli.starting_worker': 'No worker is running: starting one in this process (the engine loads and warms up first)...',
  'cli.wrote': 'wrote {path} ({bytes} bytes)',
  'cli.clip_on_worker': "the worker ran on another host: the clip is there, under its OUTPUT_DIR as {path}",
  'cli.failed': 'failed: {reason}',
} as const;

export const TEXTS = { ...ERROR_TEXTS, ...MESSAGE_TEXTS } as const;

export type ErrorTextId = keyof typeof ERROR_TEXTS;
export type TextId = keyof typeof TEXTS;
export type TextParams = Record<string, string | number>;

/** A translation: every id, in one language. English is TEXTS itself. */
export type Catalogue = Record<TextId, string>;

export const DEFAULT_LOCALE = 'en';

// i18next holds every language; ids are flat keys (they contain dots), `{name}` is the placeholder syntax.
const i18n = i18next.createInstance();
void i18n.init({
  initAsync: false,
  resources: { en: { translation: TEXTS }, 'zh-CN': { translation: zhCN }, ru: { translation: ru } },
  lng: DEFAULT_LOCALE,
  fallbackLng: DEFAULT_LOCALE,
  keySeparator: false,
  nsSeparator: false,
  returnNull: false,
  interpolation: {
    prefix: '{',
    suffix: '}',
    // Texts are plain; each platform escapes them for its own markup.
    escapeValue: false,
  },
  // A missing parameter stays visible as `{name}` rather than vanishing.
  missingInterpolationHandler: (_text: string, match: RegExpExecArray) => match[0],
});

/** The languages every text exists in (the catalogue test holds each to the English ids and placeholders). */
export function catalogueLocales(): string[] {
  return Object.keys(i18n.store.data);
}

/** One language's catalogue as registered (English: TEXTS). */
export function catalogue(locale: string): Partial<Catalogue> {
  return (i18n.getResourceBundle(locale, 'translation') ?? {}) as Partial<Catalogue>;
}

/** Fills `{name}` placeholders; the text of `locale` when there is one, English otherwise. */
export function text(id: TextId, params: TextParams = {}, locale: string = DEFAULT_LOCALE): string {
  return i18n.t(id, { ...params, lng: locale, interpolation: { escapeValue: false } });
}

/** Registers another language (ids it lacks are a type error, so translations cannot drift). */
export function addCatalogue(locale: string, catalogue: Catalogue): void {
  i18n.addResourceBundle(locale, 'translation', catalogue, true, true);
}

/** The id whose English text is `english`, if any: commands declare their words in English, menus show them localised. */
export function textIdOf(english: string): TextId | undefined {
  return ENGLISH_TO_ID.get(english);
}
const ENGLISH_TO_ID = new Map<string, TextId>(Object.entries(TEXTS).map(([id, english]) => [english, id as TextId]));

/** `english` in `locale` when it is a catalogue text; anything else (a custom command's words) as given. */
export function localizeEnglish(english: string, locale: string): string {
  const id = textIdOf(english);
  return id ? text(id, {}, locale) : english;
}

/**
 * The same text for a markup language: literal parts go through `escape`, parameters are inserted as given
 * (already marked up by the caller). Telegram's HTML help, for one.
 */
export function markupText(id: TextId, escape: (literal: string) => string, params: Record<string, string> = {}, locale: string = DEFAULT_LOCALE): string {
  return text(id, {}, locale)
    .split(/(\{\w+\})/)
    .map((part) => {
      const key = /^\{(\w+)\}$/.exec(part)?.[1];
      return key !== undefined ? (params[key] ?? escape(part)) : escape(part);
    })
    .join('');
}
