// What /start and /help say, and the command menu set with setMyCommands: how people discover /gen's options.
import type { CommandServices } from '../../core/command.ts';
import { escapeHtml } from './telegram-markup.ts';

/** The public menu; /gpu stays out of it so non-admins never learn it exists. */
export const BOT_COMMANDS = [
  { command: 'gen', description: 'Make a short video: /gen a red fox in the snow | preset=draft seed=42' },
  { command: 'cancel', description: 'Cancel your queued or running videos' },
  { command: 'help', description: 'How to use this bot: options, limits, buttons' },
];

export function helpText(services: Pick<CommandServices, 'env' | 'presets'>, botUsername: string | undefined): string {
  const { env, presets } = services;
  const presetLines = presets.names.map((name) => {
    const p = presets.byName.get(name)!;
    const tag = name === presets.defaultName ? ' (default)' : '';
    return `• <code>${escapeHtml(name)}</code>${tag}: ${escapeHtml(p.description)}`;
  });
  const at = botUsername ? `@${escapeHtml(botUsername)}` : '@this_bot';
  return [
    '🎬 <b>Short AI videos from a sentence.</b>',
    '',
    '<code>/gen a red fox running through snow at dawn</code>',
    '<code>/gen a paper boat on a river | preset=draft seed=42</code>',
    '',
    '<b>Options</b> go after a <code>|</code>:',
    '• <code>preset=NAME</code>, one of:',
    ...presetLines.map((l) => `   ${l}`),
    '• <code>seed=N</code>: a whole number; the same prompt, preset and seed give the same video',
    '• <code>negative="blurry, text"</code>: what to keep out of the video',
    '',
    'The reply shows your place in the queue, then progress. Tap <b>Cancel</b> or send /cancel to stop it; ' +
      '<b>Regenerate</b> under a video makes another take with a new seed.',
    `Prompts up to ${env.PROMPT_MAX_CHARS} characters · ${env.QUOTA_MAX_PENDING_PER_USER} videos in the queue at once · ${env.QUOTA_MAX_JOBS_PER_HOUR} per hour.`,
    `In groups, address me: <code>/gen${at} …</code>`,
  ].join('\n');
}

/** The nudge for a private message that is not a command. */
export const NOT_A_COMMAND = 'Send /gen followed by a description of the video, e.g. /gen a red fox in the snow. /help lists the options.';
