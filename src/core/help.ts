// /help for platforms where people type commands: derived from the registry (each command's word, examples and options).
import type { Platform, Span } from './chat-context.ts';
import type { CommandServices } from './command.ts';
import { commandOptions } from './command-options.ts';
import type { CommandRegistry } from './command-registry.ts';
import { imagePresetNames } from '../../config/presets.ts';
import { DEFAULT_LOCALE, localizeEnglish, text } from './texts.ts';

/** The help as rich lines; `spansToPlain` gives its plain form. */
export function typedHelp(registry: CommandRegistry, platform: Platform, services: Pick<CommandServices, 'env' | 'presets'>, botUsername?: string, locale: string = DEFAULT_LOCALE): Span[][] {
  const t = (id: Parameters<typeof text>[0], params: Record<string, string | number> = {}) => text(id, params, locale);
  const listed = registry.listedOn(platform);
  // The main command is the first that takes free text (the video command): it gets the examples and options.
  const main = listed.find(({ command }) => commandOptions(command).some((o) => o.meta.text));
  const lines: Span[][] = [['🎬 ', { bold: t('help.title') }], []];
  if (main) {
    for (const example of main.command.examples ?? []) lines.push([{ code: `/${main.word} ${localizeEnglish(example, locale)}` }]);
    const options = commandOptions(main.command, services).filter((o) => !o.meta.text && !o.meta.attachment);
    if (options.length > 0) {
      lines.push([], withParams(locale, 'help.options_intro', { options: { bold: t('help.options_word') }, bar: { code: '|' } }));
      for (const option of options) {
        const typed: Span = { code: `${option.name}=${option.meta.placeholder ?? '…'}` };
        if (option.choices) {
          lines.push(['• ', ...withParams(locale, 'help.option_preset', { option: typed })]);
          for (const choice of option.choices) lines.push(['   • ', { code: choice.value }, `${choice.tag ? localizeEnglish(choice.tag, locale) : ''}${choice.description ? `: ${localizeEnglish(choice.description, locale)}` : ''}`]);
        } else {
          lines.push(['• ', typed, `: ${localizeEnglish(option.description, locale)}`]);
        }
      }
    }
    lines.push([]);
    lines.push(withParams(locale, 'help.flow', { cancel: { bold: t('help.flow_cancel') }, regenerate: { bold: t('help.flow_regenerate') } }));
    // A picture option (image-to-video presets): the chat way to give one, where a person types commands.
    const imagePresets = imagePresetNames(services.presets);
    if (platform === 'telegram' && imagePresets.length > 0 && commandOptions(main.command).some((o) => o.meta.attachment)) {
      lines.push(withParams(locale, 'help.photo', { command: { code: `/${main.word}` }, presets: { code: imagePresets.join(', ') } }));
    }
    lines.push([t('help.limits', { maxChars: services.env.PROMPT_MAX_CHARS, pending: services.env.QUOTA_MAX_PENDING_PER_USER, hourly: services.env.QUOTA_MAX_JOBS_PER_HOUR })]);
  }
  const others = listed.filter((c) => c !== main);
  if (others.length > 0) {
    lines.push([]);
    for (const { command, word } of others) lines.push(['• ', { code: `/${word}` }, `: ${localizeEnglish(command.description, locale)}`]);
  }
  if (main) lines.push(withParams(locale, 'help.groups', { example: { code: `/${main.word}${botUsername ? `@${botUsername}` : '@this_bot'} …` } }));
  return lines;
}

/** A catalogue text whose `{name}` parameters are spans (bold, code) rather than plain strings. */
function withParams(locale: string, id: Parameters<typeof text>[0], params: Record<string, Span>): Span[] {
  const marker = '\u0000';
  const names = Object.keys(params);
  const filled = text(id, Object.fromEntries(names.map((n, i) => [n, `${marker}${i}${marker}`])), locale);
  return filled
    .split(new RegExp(`${marker}(\\d+)${marker}`))
    .map((part, i) => (i % 2 === 1 ? params[names[Number(part)]!]! : part))
    .filter((part) => part !== '');
}

/** The plain text of rich lines. */
export function spansToPlain(lines: Span[][]): string {
  return lines.map((line) => line.map((s) => (typeof s === 'string' ? s : 'bold' in s ? s.bold : s.code)).join('')).join('\n');
}
