// What /start and /help say, and the command menu set with setMyCommands: how people discover /gen's options.
import type { CommandServices } from '../../core/command.ts';
import { type TextId, markupText, text } from '../../core/texts.ts';
import { escapeHtml } from './telegram-markup.ts';

/** The public menu; /gpu stays out of it so non-admins never learn it exists. */
export const BOT_COMMANDS = [
  { command: 'gen', description: text('command.video.menu', { command: 'gen' }) },
  { command: 'cancel', description: text('command.cancel.menu') },
  { command: 'help', description: text('command.help') },
];

const code = (s: string) => `<code>${escapeHtml(s)}</code>`;
const bold = (s: string) => `<b>${escapeHtml(s)}</b>`;
const html = (id: TextId, params: Record<string, string> = {}) => markupText(id, escapeHtml, params);

export function helpText(services: Pick<CommandServices, 'env' | 'presets'>, botUsername: string | undefined): string {
  const { env, presets } = services;
  const presetLines = presets.names.map((name) => {
    const p = presets.byName.get(name)!;
    const tag = name === presets.defaultName ? text('command.default_tag') : '';
    return `• ${code(name)}${escapeHtml(tag)}: ${escapeHtml(p.description)}`;
  });
  const at = botUsername ? `@${escapeHtml(botUsername)}` : '@this_bot';
  return [
    `🎬 ${bold(text('help.title'))}`,
    '',
    code(`/gen ${text('help.example_prompt')}`),
    code(`/gen ${text('help.example_options')}`),
    '',
    html('help.options_intro', { options: bold(text('help.options_word')), bar: code('|') }),
    `• ${html('help.option_preset', { option: code('preset=NAME') })}`,
    ...presetLines.map((l) => `   ${l}`),
    `• ${html('help.option_seed', { option: code('seed=N') })}`,
    `• ${html('help.option_negative', { option: code('negative="blurry, text"') })}`,
    '',
    html('help.flow', { cancel: bold(text('help.flow_cancel')), regenerate: bold(text('help.flow_regenerate')) }),
    escapeHtml(text('help.limits', { maxChars: String(env.PROMPT_MAX_CHARS), pending: String(env.QUOTA_MAX_PENDING_PER_USER), hourly: String(env.QUOTA_MAX_JOBS_PER_HOUR) })),
    html('help.groups', { example: `<code>/gen${at} …</code>` }),
  ].join('\n');
}

/** The nudge for a private message that is not a command. */
export const NOT_A_COMMAND = text('help.not_a_command', { command: 'gen' });
