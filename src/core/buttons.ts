// The one button codec: `<action>:<jobId>` in Discord custom_id and Telegram callback_data, job ids checked as our UUIDs.
import { z } from 'zod';
import { UserFacingError } from './errors.ts';

/** Job ids are the request ids we mint with randomUUID(): anything else in a button was not made by us. */
export const jobIdSchema = z.uuid();

// An action is a command name: lowercase words joined by dashes. Telegram allows 64 bytes of data, Discord 100.
const ACTION = /^[a-z][a-z0-9-]{0,19}$/;
const BUTTON = /^([a-z][a-z0-9-]{0,19}):(.{1,64})$/s;

export interface ButtonPress {
  action: string;
  jobId: string;
}

/** `cancel:<uuid>` is 43 bytes: within Telegram's 64-byte callback_data and Discord's 100-character custom_id. */
export function encodeButton(button: ButtonPress): string {
  if (!ACTION.test(button.action)) throw new Error(`button action ${JSON.stringify(button.action)} is not a command name`);
  return `${button.action}:${button.jobId}`;
}

/**
 * Reads a button back. null: not shaped like ours at all (another bot's, ignore it). A UserFacingError
 * (bad_job_id): shaped like ours but the id is not a UUID, i.e. forged or stale: refuse it with a clear answer.
 */
export function decodeButton(data: string): ButtonPress | null {
  const match = BUTTON.exec(data);
  if (!match) return null;
  const jobId = match[2]!;
  if (!jobIdSchema.safeParse(jobId).success) throw new UserFacingError('bad_job_id');
  return { action: match[1]!, jobId };
}

/** A choice button: runs the command `action` with one option set (`/settings` keyboards: `settings:stats=short`). */
export interface ChoicePress {
  action: string;
  field: string;
  value: string;
}

const CHOICE = /^([a-z][a-z0-9-]{0,19}):([a-z][A-Za-z]{0,19})=([A-Za-z0-9_.-]{0,30})$/;

/** `settings:language=zh-CN` is 24 bytes; anything that would not read back the same is refused here. */
export function encodeChoice(choice: ChoicePress): string {
  const data = `${choice.action}:${choice.field}=${choice.value}`;
  if (!CHOICE.test(data)) throw new Error(`choice ${JSON.stringify(data)} cannot be a button`);
  return data;
}

/** A choice press, or null when the data is not shaped as one (then decodeButton reads it). */
export function decodeChoice(data: string): ChoicePress | null {
  const match = CHOICE.exec(data);
  return match ? { action: match[1]!, field: match[2]!, value: match[3]! } : null;
}

/** A job id typed by a person (/cancel <id>): our UUID or a clear refusal. */
export function parseJobId(raw: string): string {
  const id = raw.trim();
  if (!jobIdSchema.safeParse(id).success) throw new UserFacingError('bad_job_id');
  return id;
}
