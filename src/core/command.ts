// What a user-facing command is (input schema, pre-check, acknowledgement, handler) and the one dispatcher that answers any failure.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Env } from '../../config/env.ts';
import type { PresetBook } from '../../config/presets.ts';
import type { VideoQueues } from '../queue/video-queues.ts';
import type { ChatContext, Platform } from './chat-context.ts';
import { QueueUnavailableError } from './command-errors.ts';
import { UserFacingError, type UserErrorCode, renderUserMessage } from './errors.ts';
import { echoInput } from './prompt.ts';
import type { Blocklist } from './prompt.ts';
import type { UserQuota } from './quota.ts';
import { userSettingsStore } from './user-settings.ts';
import type { RateLimiter } from './rate-limit.ts';

/** Everything a command may use, built once per process (see src/app-services.ts). */
export interface CommandServices {
  env: Env;
  presets: PresetBook;
  queue: VideoQueues;
  quota: UserQuota;
  rateLimit: RateLimiter;
  blocklist: Blocklist;
  redis: Redis;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * How a platform acknowledges before the work starts:
 * - public: the answer lives in the chat and becomes the job's status message (Discord deferReply);
 * - private: only the asker sees the answer (Discord ephemeral; Telegram: their private chat);
 * - update: a button press; the pressed message stays, answers are follow-ups (Discord deferUpdate).
 */
export type Acknowledgement = 'public' | 'private' | 'update';

/** Menu hints that depend on configuration (a field's choices, its length limit), keyed by input field. */
export interface OptionHints {
  choices?: OptionChoice[];
  maxLength?: number;
}

export interface OptionChoice {
  value: string;
  /** Shown after the value, e.g. " (default)". */
  tag?: string;
  description?: string;
}

/** Field metadata a command attaches to its input schema with zod's `.meta()`. */
export interface FieldMeta {
  description?: string;
  /** How the value is written in help (`preset=NAME`). */
  placeholder?: string;
  /** The name typed in `key=value` / `--key` form, when it differs from the field (negative -> negativePrompt). */
  alias?: string;
  /** The text platforms' free text after the command word goes to this field. */
  text?: boolean;
  /** Offered only where a person types options by hand (Telegram, CLI): Discord's registration skips it. */
  typedOnly?: boolean;
  /** A picture the platform hands over as an ImageUpload (src/core/image-upload.ts), never typed as `name=value`:
   * Telegram's photo, Discord's attachment option, the CLI's `--image FILE`, the web page's upload. */
  attachment?: boolean;
  /** The refusal when the value does not fit the schema (default: bad_option naming the field). */
  invalid?: { code: UserErrorCode; params?: Record<string, string | number> };
}

export interface Command<Input = Record<string, unknown>> {
  /** The registry's id; also the button action that runs it and, unless `words` says otherwise, the word typed. */
  name: string;
  description: string;
  /** The input schema (zod object); platforms derive their options, menus and parsing from it. */
  input?: z.ZodType<Input>;
  /** The word that calls it on a platform; null: not offered there. `gpu status` is a Discord subcommand. */
  words?: Partial<Record<Platform, string | null>>;
  /** Refused to anyone the adapter did not mark as admin, revealing nothing; kept out of public menus. */
  adminOnly?: boolean;
  /** How a typed command is acknowledged (default public). */
  ack?: 'public' | 'private';
  /** Present when a button runs it with `{ jobId }`: how the press is acknowledged. */
  button?: { ack: 'update' | 'public' };
  /** Configuration-dependent menu hints (choices, limits). */
  hints?(services: Pick<CommandServices, 'env' | 'presets'>): Partial<Record<string, OptionHints>>;
  /** Examples of the typed form (without the command word), for help. */
  examples?: string[];
  /** Position in menus and help, lower first (default 100); ties keep the registry's file order. */
  order?: number;
  /** false: kept out of menus and help (an alias such as /start); admin-only commands are never listed. */
  listed?: boolean;
  /** The checks that need no I/O: throws the UserFacingError to show. Runs before the platform acknowledges. */
  precheck?(input: Input, services: Pick<CommandServices, 'env' | 'presets' | 'blocklist'>): void;
  execute(ctx: ChatContext, input: Input, services: CommandServices): Promise<void>;
}

/** Any command, whatever its input (handlers are methods, so a Command<VideoInput> is one). */
export type AnyCommand = Command<unknown>;

export function userKey(ctx: ChatContext): string {
  return `${ctx.user.platform}:${ctx.user.id}`;
}

/** The word `command` is called by on `platform`, or null when it is not offered there. */
export function commandWord(command: AnyCommand, platform: Platform): string | null {
  const word = command.words?.[platform];
  return word === undefined ? command.name : word;
}

/** The metadata of one field of a command's input schema. */
export function fieldMeta(schema: z.ZodType): FieldMeta {
  return (z.globalRegistry.get(schema) ?? {}) as FieldMeta;
}

/** The fields of a command's input (name -> schema), empty when it takes none. */
export function inputFields(command: AnyCommand): Record<string, z.ZodType> {
  const schema = command.input;
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

/** Parses raw platform input with the command's schema; a misfit is the UserFacingError its field declares. */
export function parseCommandInput<I>(command: Command<I>, raw: unknown): I {
  if (!command.input) return raw as I;
  const parsed = command.input.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = typeof issue?.path[0] === 'string' ? issue.path[0] : '';
  const fieldSchema = inputFields(command as AnyCommand)[field];
  const invalid = fieldSchema ? fieldMeta(fieldSchema).invalid : undefined;
  if (invalid) throw new UserFacingError(invalid.code, invalid.params ?? {});
  throw new UserFacingError('bad_option', { option: echoInput(field || 'input', 40) });
}

// ioredis may still read 'ready' for a moment after Redis died (the socket's close is handled a tick later), and
// for as long as a link that went silent lasts: then only the command timeout says so.
const CONNECTION_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
const CONNECTION_ERROR_NAMES = new Set(['MaxRetriesPerRequestError']);
const IOREDIS_CONNECTION_MESSAGES = new Set(["Stream isn't writeable and enableOfflineQueue options is false", 'Connection is closed.', 'Command timed out']);

/** ioredis' failures as a typed error: its error classes and codes, no message matching except its two plain Errors. */
function asQueueUnavailable(redis: Pick<Redis, 'status'>, err: unknown): QueueUnavailableError | null {
  if (err instanceof QueueUnavailableError) return err;
  const e = err as { name?: string; code?: string; message?: string } | null;
  // ioredis raises these as plain Errors with fixed texts (no class or code to test).
  const closed = IOREDIS_CONNECTION_MESSAGES.has(e?.message ?? '');
  if (redis.status !== 'ready' || CONNECTION_ERROR_NAMES.has(e?.name ?? '') || CONNECTION_ERROR_CODES.has(e?.code ?? '') || closed) return new QueueUnavailableError(err);
  return null;
}

export interface DispatchHooks {
  /** Reads the raw input inside the dispatcher, so a parse failure (an unknown option) is answered like bad input. */
  input?(): unknown;
  /** Called once the request passed the checks that need no I/O, before the command's work: acknowledge here. */
  acknowledge?(): Promise<void>;
}

/**
 * Runs a command: admin check, the per-user and global rate limits, the input schema, the pre-check, then
 * (after `hooks.acknowledge`) the handler. Any failure becomes one clear, private reply and never escapes.
 */
export async function dispatch<I>(command: Command<I>, ctx: ChatContext, rawInput: unknown, services: CommandServices, hooks: DispatchHooks = {}): Promise<void> {
  try {
    if (command.adminOnly && !ctx.user.isAdmin) throw new UserFacingError('not_admin');
    await services.rateLimit.hit(userKey(ctx));
    // The language chosen in /settings beats the platform's; an unreadable store leaves the platform's.
    const language = (await userSettingsStore(services).get(userKey(ctx)).catch(() => null))?.language;
    if (language) ctx.locale = language;
    const input = parseCommandInput(command, hooks.input ? hooks.input() : rawInput);
    command.precheck?.(input, services);
    await hooks.acknowledge?.();
    await command.execute(ctx, input, services);
  } catch (err) {
    let text: string;
    const unavailable = err instanceof UserFacingError ? null : asQueueUnavailable(services.redis, err);
    if (err instanceof UserFacingError) {
      text = renderUserMessage(err.code, err.params, ctx.locale);
    } else if (unavailable) {
      text = renderUserMessage('queue_unavailable', {}, ctx.locale);
      services.log('warn', 'command failed: Redis unavailable', { command: command.name, error: String(unavailable.cause) });
    } else {
      text = renderUserMessage('internal', {}, ctx.locale);
      services.log('error', 'command failed', { command: command.name, error: err instanceof Error ? err.stack : String(err) });
    }
    try {
      await ctx.reply({ kind: 'error', text, private: true });
    } catch (replyErr) {
      services.log('warn', 'could not send the error reply', { command: command.name, error: String(replyErr) });
    }
  }
}

/** A command that only refuses: a forged button still goes through the dispatcher (rate limit, one private answer). */
export function refusal(error: UserFacingError): AnyCommand {
  return {
    name: 'refusal',
    description: error.code,
    async execute() {
      throw error;
    },
  };
}
