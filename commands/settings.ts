// /settings: remember a user's defaults (preset, negative prompt, language, stats full/short); /settings reset forgets them.
import { z } from 'zod';
import type { ChatContext, ReplyChoice } from '../src/core/chat-context.ts';
import { type Command, type CommandServices, userKey } from '../src/core/command.ts';
import { UserFacingError } from '../src/core/errors.ts';
import { LOCALES, type Locale, resolveLocale } from '../src/core/locale.ts';
import { echoInput, validatePrompt } from '../src/core/prompt.ts';
import { snapToPreset } from '../src/core/snap-to-preset.ts';
import { text } from '../src/core/texts.ts';
import { type UserSettings, userSettingsStore } from '../src/core/user-settings.ts';

const STATS_MODES = ['full', 'short'] as const;

export const settingsInputSchema = z.object({
  /** `reset` forgets every setting; anything else typed here is refused. */
  action: z.enum(['reset']).optional().meta({ description: text('command.settings.reset'), text: true, placeholder: 'reset', invalid: { code: 'bad_setting', params: { setting: 'action', choices: 'reset' } } }),
  preset: z.string().trim().optional().meta({ description: text('command.settings.preset'), placeholder: 'NAME' }),
  negativePrompt: z.string().optional().meta({ description: text('command.settings.negative'), alias: 'negative', placeholder: '"blurry, text"' }),
  language: z.string().trim().optional().meta({ description: text('command.settings.language'), placeholder: LOCALES.join('|') }),
  stats: z.string().trim().optional().meta({ description: text('command.settings.stats'), placeholder: STATS_MODES.join('|') }),
});

export type SettingsInput = z.infer<typeof settingsInputSchema>;

/** A language as typed: our codes exactly (any case), or a platform code of one (`zh`, `ru-RU`). */
function parseLanguage(raw: string): Locale {
  const exact = LOCALES.find((l) => l.toLowerCase() === raw.toLowerCase());
  if (exact) return exact;
  const resolved = resolveLocale(raw);
  // resolveLocale reads anything unknown as English: only an English code may mean English.
  if (resolved !== 'en' || /^en(-|$)/i.test(raw)) return resolved;
  throw new UserFacingError('bad_language', { language: echoInput(raw, 20), choices: LOCALES.join(', ') });
}

/** The changes the input asks for, every value checked first: one bad value and nothing is stored. */
export function settingsChanges(input: SettingsInput, services: Pick<CommandServices, 'env' | 'presets' | 'blocklist'>): { [K in keyof UserSettings]?: UserSettings[K] | null } {
  const changes: { [K in keyof UserSettings]?: UserSettings[K] | null } = {};
  if (input.preset !== undefined) changes.preset = input.preset === '' ? null : snapToPreset(services.presets, input.preset).name;
  if (input.negativePrompt !== undefined) {
    changes.negativePrompt = input.negativePrompt.trim() === '' ? null : validatePrompt(input.negativePrompt, services.env.PROMPT_MAX_CHARS, services.blocklist);
  }
  if (input.language !== undefined) changes.language = input.language === '' ? null : parseLanguage(input.language);
  if (input.stats !== undefined) {
    const mode = input.stats.toLowerCase();
    if (mode !== '' && !(STATS_MODES as readonly string[]).includes(mode)) throw new UserFacingError('bad_stats_mode', { value: echoInput(input.stats, 20) });
    changes.stats = mode === '' ? null : (mode as (typeof STATS_MODES)[number]);
  }
  return changes;
}

/** The settings as lines, in the reader's language. */
export function settingsLines(settings: UserSettings, locale: string | undefined): string[] {
  const unset = text('settings.unset', {}, locale);
  return [
    text('settings.line_preset', { value: settings.preset ?? unset }, locale),
    text('settings.line_negative', { value: settings.negativePrompt ?? unset }, locale),
    text('settings.line_language', { value: settings.language ? text(`language.${settings.language}`, {}, locale) : unset }, locale),
    text('settings.line_stats', { value: settings.stats ? text(`settings.stats_${settings.stats}`, {}, locale) : unset }, locale),
  ];
}

/** The keyboard of the settings (Telegram inline keyboard, Discord select menus): a press sets that one value. */
export function settingsChoices(settings: UserSettings, presetNames: readonly string[], locale: string | undefined): ReplyChoice[][] {
  const choice = (field: 'preset' | 'language' | 'stats', value: string, label: string, selected: boolean): ReplyChoice => ({ action: 'settings', field, value, label, selected });
  return [
    presetNames.slice(0, 25).map((name) => choice('preset', name, name, settings.preset === name)),
    LOCALES.map((l) => choice('language', l, text(`language.${l}`, {}, locale), settings.language === l)),
    STATS_MODES.map((m) => choice('stats', m, text(`settings.stats_${m}`, {}, locale), settings.stats === m)),
  ];
}

async function answer(ctx: ChatContext, heading: string, settings: UserSettings, services: CommandServices): Promise<void> {
  const lines = [heading, ...settingsLines(settings, ctx.locale), '', text('settings.hint', {}, ctx.locale)];
  await ctx.reply({ kind: 'info', text: lines.join('\n'), private: true, choices: settingsChoices(settings, services.presets.names, ctx.locale) });
}

export const settingsCommand = {
  name: 'settings',
  description: text('command.settings'),
  input: settingsInputSchema,
  ack: 'private',
  // The keyboard's choices (settingsChoices) run this command with one option set, as the presser.
  button: { ack: 'update' },
  order: 2,
  hints: ({ presets }) => ({
    preset: { choices: presets.names.map((name) => ({ value: name })) },
    language: { choices: LOCALES.map((l) => ({ value: l, description: text(`language.${l}`) })) },
    stats: { choices: STATS_MODES.map((m) => ({ value: m })) },
  }),
  precheck(input, services) {
    settingsChanges(input, services);
  },
  async execute(ctx, input, services) {
    const store = userSettingsStore(services);
    const user = userKey(ctx);
    if (input.action === 'reset') {
      await store.reset(user);
      await ctx.reply({ kind: 'info', text: text('settings.reset_done', {}, ctx.locale), private: true });
      return;
    }
    const changes = settingsChanges(input, services);
    if (Object.keys(changes).length === 0) {
      await answer(ctx, text('settings.title', {}, ctx.locale), await store.get(user), services);
      return;
    }
    const settings = await store.update(user, changes);
    // A new language answers in that language already.
    if (changes.language) ctx.locale = changes.language;
    await answer(ctx, text('settings.saved', {}, ctx.locale), settings, services);
  },
} satisfies Command<SettingsInput>;

export default settingsCommand;
