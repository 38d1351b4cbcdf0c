// The Cancel and Reroll buttons as raw Discord components, and their custom ids (`cancel:<jobId>`), for bot and worker alike.
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponentWithCustomId } from 'discord-api-types/v10';
import type { ReplyButton } from '../../core/chat-context.ts';

export type ButtonAction = ReplyButton['action'];

const STYLES: Record<ButtonAction, ButtonStyle.Danger | ButtonStyle.Secondary> = { cancel: ButtonStyle.Danger, reroll: ButtonStyle.Secondary };
const EMOJI: Record<ButtonAction, string> = { cancel: '✖️', reroll: '🎲' };

export function buttonCustomId(action: ButtonAction, jobId: string): string {
  return `${action}:${jobId}`;
}

/** Reads a custom id back; null for buttons that are not ours (custom ids are user-visible input, so checked). */
export function parseButtonCustomId(customId: string): { action: ButtonAction; jobId: string } | null {
  const match = /^(cancel|reroll):([\w-]{1,90})$/.exec(customId);
  return match ? { action: match[1] as ButtonAction, jobId: match[2]! } : null;
}

/** One action row holding the buttons; an empty array (no row) removes any buttons on edit. */
export function buttonRows(buttons: readonly ReplyButton[]): APIActionRowComponent<APIButtonComponentWithCustomId>[] {
  if (buttons.length === 0) return [];
  return [
    {
      type: ComponentType.ActionRow,
      components: buttons.slice(0, 5).map((b) => ({
        type: ComponentType.Button,
        style: STYLES[b.action],
        label: b.label,
        emoji: { name: EMOJI[b.action] },
        custom_id: buttonCustomId(b.action, b.jobId),
      })),
    },
  ];
}
