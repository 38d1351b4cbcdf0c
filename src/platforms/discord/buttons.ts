// The job buttons as raw Discord components, their custom ids from the one codec (src/core/buttons.ts), for bot and worker alike.
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponentWithCustomId, type APIStringSelectComponent } from 'discord-api-types/v10';
import { type ButtonPress, decodeButton, encodeButton, encodeChoice } from '../../core/buttons.ts';
import type { ReplyButton, ReplyChoice } from '../../core/chat-context.ts';

export type ButtonAction = ReplyButton['action'];

const STYLES: Partial<Record<ButtonAction, ButtonStyle.Danger | ButtonStyle.Secondary>> = { cancel: ButtonStyle.Danger };
const EMOJI: Partial<Record<ButtonAction, string>> = { cancel: '✖️', reroll: '🎲' };

export function buttonCustomId(action: ButtonAction, jobId: string): string {
  return encodeButton({ action, jobId });
}

/** Reads a custom id back: null for buttons that are not ours; throws bad_job_id for a forged or stale id. */
export function parseButtonCustomId(customId: string): ButtonPress | null {
  return decodeButton(customId);
}

/** One action row holding the buttons; an empty array (no row) removes any buttons on edit. */
export function buttonRows(buttons: readonly ReplyButton[]): APIActionRowComponent<APIButtonComponentWithCustomId>[] {
  if (buttons.length === 0) return [];
  return [
    {
      type: ComponentType.ActionRow,
      components: buttons.slice(0, 5).map((b) => {
        const emoji = EMOJI[b.action];
        return {
          type: ComponentType.Button,
          style: STYLES[b.action] ?? ButtonStyle.Secondary,
          label: b.label,
          ...(emoji ? { emoji: { name: emoji } } : {}),
          custom_id: buttonCustomId(b.action, b.jobId),
        };
      }),
    },
  ];
}

/**
 * Each row of choices (one setting) as a select menu: its custom id is the choice with an empty value
 * (`settings:stats=`), the picked option's value fills it in (interaction-handler.ts). Discord allows 5 rows.
 */
export function choiceRows(choices: readonly (readonly ReplyChoice[])[]): APIActionRowComponent<APIStringSelectComponent>[] {
  return choices
    .filter((row) => row.length > 0)
    .slice(0, 4)
    .map((row) => ({
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.StringSelect,
          custom_id: encodeChoice({ action: row[0]!.action, field: row[0]!.field, value: '' }),
          options: row.slice(0, 25).map((c) => ({ label: c.label, value: c.value, ...(c.selected ? { default: true } : {}) })),
          min_values: 1,
          max_values: 1,
        },
      ],
    }));
}
