/** Public types shared by the fake Discord server's modules and the tests that drive it. */
import type { APIMessage, APIUser } from 'discord-api-types/v10';

export interface FakeDiscordServerOptions {
  /** When set, REST `Authorization: Bot <token>` and gateway IDENTIFY must carry it (else 401 / close 4004). */
  token?: string;
  /** op 10 HELLO heartbeat_interval; Discord sends ~41250 ms, tests may want it short to observe ACKs. */
  heartbeatIntervalMs?: number;
  /** Total upload bytes per request before 413 / 40005; also sent as interaction attachment_size_limit. */
  attachmentSizeLimit?: number;
  /** How long an interaction may go unacknowledged before callbacks answer 10062 (Discord: 3 s). */
  interactionResponseWindowMs?: number;
  /** How long an interaction token works for webhook calls (Discord: 15 min). */
  interactionTokenLifetimeMs?: number;
  /** Requests per bucket per window reported in X-RateLimit-* headers and enforced with real 429s. */
  rateLimit?: { limit: number; windowMs: number };
  /** Permissions bit set (decimal string) the bot has in the fake channel, sent as app_permissions. */
  appPermissions?: string;
  botUsername?: string;
}

export interface UploadedFile {
  /** Multipart field name, e.g. `files[0]`. */
  field: string;
  filename: string;
  contentType: string | undefined;
  data: Buffer;
}

/** One REST request as the fake saw it, plus what it answered. */
export interface RestCall {
  method: string;
  /** Path below /api/v10, without the query string, e.g. `/webhooks/1/abc/messages/@original`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or the parsed `payload_json` part of a multipart body. */
  body: unknown;
  files: UploadedFile[];
  status: number;
  response: unknown;
  at: number;
}

export interface GatewayEvent {
  direction: 'in' | 'out';
  op: number;
  t: string | null;
  d: unknown;
  connectionId: number;
}

export interface GatewayConnectionInfo {
  connectionId: number;
  /** Request URL of the WebSocket upgrade, e.g. `/gateway?v=10&encoding=json`. */
  url: string;
  query: Record<string, string>;
  identify: Record<string, unknown> | null;
  sessionId: string | null;
  open: boolean;
}

/** A function, a RegExp tested against `"METHOD /path"`, or `"METHOD /path/:param/*"` (method may be `*` or omitted). */
export type RouteMatcher = string | RegExp | ((request: { method: string; path: string }) => boolean);

export interface RateLimitFailure {
  /** Seconds, as Discord's Retry-After header and retry_after body field carry it. */
  retryAfter: number;
  global?: boolean;
  /** X-RateLimit-Scope; defaults to `global` for global limits, else `user`. */
  scope?: 'user' | 'global' | 'shared';
  /** How many consecutive matching requests fail (default 1). */
  times?: number;
}

export interface ServerErrorFailure {
  status?: 500 | 502 | 503 | 504;
  times?: number;
}

export interface FakeUser {
  id: string;
  username: string;
  globalName?: string;
}

export interface SlashCommandInput {
  user: FakeUser;
  /** Role ids the invoking member has (besides @everyone); defaults to none. */
  roles?: string[];
  commandName: string;
  subcommandGroup?: string;
  subcommand?: string;
  options?: { name: string; value: string | number | boolean; type: number }[];
  /** Defaults to the fake guild; pass null for a DM interaction. */
  guildId?: string | null;
  channelId?: string;
  locale?: string;
}

export interface ButtonPressInput {
  user: FakeUser;
  roles?: string[];
  messageId: string;
  customId: string;
}

/** A user picking values in a string select menu of a message. */
export interface SelectInput extends ButtonPressInput {
  values: string[];
}

/** Read-only snapshot of everything the fake knows about one interaction. */
export interface InteractionState {
  id: string;
  token: string;
  type: number;
  user: APIUser;
  channelId: string;
  guildId: string | null;
  createdAt: number;
  acknowledged: boolean;
  /** Callback type of the acknowledgement (4, 5, 6, 7, 9), null while unacknowledged. */
  responseType: number | null;
  deferred: boolean;
  ephemeral: boolean;
  tokenExpired: boolean;
  /** Every callback body received, including rejected second ones. */
  callbacks: { type: number; data: unknown; status: number }[];
  /** Current original response; null before one exists and after it was deleted. */
  original: APIMessage | null;
  originalDeleted: boolean;
  /** Each version of the original response, oldest first (the deferred placeholder included). */
  originalHistory: APIMessage[];
  /** Live follow-ups (a follow-up that replaced a deferred placeholder is the original, not listed here). */
  followUps: APIMessage[];
  /** The INTERACTION_CREATE payload that was dispatched. */
  payload: Record<string, unknown>;
}
