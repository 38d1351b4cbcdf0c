// The single registry of cogcast's environment variables: each one's default and meaning, parsed once at start-up.
import { accessSync, constants, statSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { engineSettingsSchema } from '../worker/engine-client/engine-protocol.ts';
import { MODEL_NAMES } from './models.ts';

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const positiveNumber = z.coerce.number().positive();
const ratio = z.coerce.number().min(0).max(1);
const port = z.coerce.number().int().min(0).max(65535);
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
// A token pasted with spaces (or only spaces) would be tried against the API and fail far from its cause.
const token = z.string().refine((s) => s === '' || (s.trim() === s && s.length > 0), 'a token without spaces around it (or empty: that platform off)');
const idList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));
// `auto`, or one entry per worker, comma-separated: a GPU id, or GPU ids joined by `+` for a CFG-parallel engine.
const gpuPlan = z
  .string()
  .transform((s) => s.replace(/\s+/g, ''))
  .pipe(z.string().regex(/^(auto|[\w-]+(\+[\w-]+)*(,[\w-]+(\+[\w-]+)*)*)$/, 'auto, or GPU ids such as 0,1 (one worker each) or 0+1,2+3 (two GPUs per worker)'))
  .transform((s): 'auto' | string[] => (s === 'auto' ? 'auto' : s.split(',')));

// The ENGINE_* variables become the engine's settings document (worker/engine-client/engine-settings.ts): their
// values are checked by the same schemas the engine validates, so the two cannot disagree on what is allowed.
const engine = engineSettingsSchema.shape;
// A password in a URL must be percent-encoded: an unencoded `/` or `@` would make part of it the host or path.
const redisUrl = z
  .url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL (percent-encode / @ : in the password)' })
  .refine((s) => !URL.canParse(s) || new URL(s).hostname !== '', 'a redis:// or rediss:// URL with a host (percent-encode / @ : in the password)');
const readableFileOrEmpty = z.string().refine((s) => s === '' || isReadableFile(s), 'a readable file (or empty)');
// Short passwords fall to guessing even behind a throttle.
const longSecretOrEmpty = z.string().refine((s) => s === '' || s.length >= 16, 'at least 16 characters (or empty: off)');

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

interface EnvVar<S extends z.ZodType = z.ZodType> {
  default: string;
  doc: string;
  schema: S;
  secret?: boolean;
}

function v<S extends z.ZodType>(schema: S, defaultValue: string, doc: string, secret = false): EnvVar<S> {
  return { schema, default: defaultValue, doc, secret };
}

/** Every variable cogcast reads. README's configuration table is checked against this list by a test. */
export const ENV_REGISTRY = {
  COGCAST_ROLE: v(z.enum(['all', 'bot', 'worker']), 'all', 'What `npm start` runs: the chat bots, one GPU worker, or both'),
  REDIS_URL: v(redisUrl, 'redis://127.0.0.1:6379', 'Redis holding the BullMQ queue, quotas and markers'),
  REDIS_TLS_CA_FILE: v(readableFileOrEmpty, '', 'PEM file of the CA that signed the Redis server\'s certificate (rediss:// only); empty = the system CAs'),
  REDIS_LOCAL_PORT: v(z.coerce.number().int().min(1).max(65535), '6379', 'Port of the default Redis address, redis://127.0.0.1:<port>, used when REDIS_URL is unset, and of the local redis-server `npm start` runs there (AOF, noeviction, data in var/redis)'),
  QUEUE_NAME: v(z.string().regex(/^[a-z0-9-]+$/), 'cogcast-video', 'BullMQ queue of cogvideox-2b jobs and the prefix of cogcast\'s keys (lowercase letters, digits, dashes); every other model\'s jobs wait in <QUEUE_NAME>-<model>'),
  PRESETS_FILE: v(z.string().min(1), 'config/presets.json', 'The locked presets file (the demo model, which only makes tiny clips, uses config/presets.demo.json unless this is set)'),
  COMMANDS_DIR: v(z.string().min(1), 'commands', 'Comma-separated folders whose files are the user-facing commands (each file one command, routed on every platform)'),
  LOG_LEVEL: v(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info', 'Log level of the TypeScript processes'),

  PROMPT_MAX_CHARS: v(positiveInt, '500', 'Longest prompt accepted, in characters after clean-up'),
  PROMPT_BLOCKLIST: v(z.string(), '', 'Comma-separated words or /regex/ patterns refused in prompts (case-insensitive)'),
  IMAGE_MAX_BYTES: v(positiveInt, '10485760', 'Largest picture accepted for image-to-video, in bytes (checked before and while it downloads)'),
  IMAGE_MIN_SIDE: v(positiveInt, '128', 'Smallest width or height of a picture accepted for image-to-video, in pixels'),
  IMAGE_MAX_MEGAPIXELS: v(positiveNumber, '40', 'Most pixels a picture may have (millions), so a small file cannot unpack into a huge one'),
  IMAGE_TTL_SECONDS: v(positiveInt, '86400', 'How long a job\'s prepared picture is kept in Redis (for its retries and rerolls)'),
  QUOTA_MAX_PENDING_PER_USER: v(positiveInt, '2', 'Jobs one user may have waiting or running at once'),
  QUOTA_MAX_JOBS_PER_HOUR: v(positiveInt, '10', 'Jobs one user may submit per rolling hour'),
  RATE_LIMIT_PER_USER_PER_MINUTE: v(positiveInt, '20', 'Commands (any kind, buttons too) one user may send per minute before being told to slow down'),
  RATE_LIMIT_GLOBAL_PER_MINUTE: v(positiveInt, '6000', 'Commands all users together may send per minute, across every bot process'),
  QUEUE_MAX_WAITING: v(positiveInt, '200', 'Waiting jobs (in one model\'s queue) beyond which new requests for that model are refused as "queue full"'),
  PRIORITY_IDS: v(idList, '', 'Platform-qualified ids of the priority tier, whose jobs go ahead of the queue, e.g. telegram:123,discord:456,web:<id>'),
  DISCORD_PRIORITY_ROLE_IDS: v(idList, '', 'Discord role ids whose members are in the priority tier (never @everyone)'),
  GPU_SECONDS_PER_DAY: v(nonNegativeInt, '1800', 'GPU seconds a user gets at normal priority per UTC day; past it their jobs run in relax (behind the others), not refused; 0 = no allowance, never relax'),
  JOB_ATTEMPTS: v(positiveInt, '3', 'Tries per job for transient failures (engine crash, OOM, ffmpeg hiccup)'),
  JOB_BACKOFF_MS: v(nonNegativeInt, '5000', 'First retry delay; doubles each retry'),
  KEEP_COMPLETED_JOBS: v(nonNegativeInt, '500', 'Finished jobs kept in Redis (newest first)'),
  KEEP_FAILED_JOBS: v(nonNegativeInt, '1000', 'Failed jobs kept in Redis (newest first)'),
  ETA_DEFAULT_SECONDS_PER_STEP: v(positiveNumber, '0.6', 'Seconds per denoising step assumed for ETAs until real jobs have been timed'),

  ENGINE_MODEL: v(z.string().min(1), 'auto', 'auto = models/CogVideoX-2b or the hub id on a CUDA host, else the tiny demo model (clips are noise); or a local diffusers-layout directory, or a hub id where the host has internet'),
  ENGINE_MODEL_NAME: v(z.enum(['auto', ...MODEL_NAMES]), 'auto', 'Which catalogue model (config/models.ts) the worker holds; auto = read from the model directory\'s model_index.json and transformer config. The worker takes only that model\'s presets'),
  ENGINE_PYTHON: v(z.string().min(1), '.venv/bin/python', "The engine's Python interpreter (npm start/test build .venv)"),
  ENGINE_DEVICE: v(engine.device, 'auto', 'auto, cpu, cuda or cuda:N'),
  ENGINE_DTYPE: v(engine.dtype, 'auto', 'auto = float16 on GPU, float32 on CPU'),
  ENGINE_MEMORY_PROFILE: v(engine.memory_profile, 'auto', 'resident keeps every module on the GPU; lowvram offloads the text encoder and tiles the VAE; auto picks from free VRAM'),
  ENGINE_COMPILE: v(engine.compile, 'auto', 'torch.compile the transformer (auto = on GPU only)'),
  ENGINE_COMPILE_CACHE_DIR: v(z.string().min(1), 'var/compile-cache', "torch.compile's on-disk cache: a restarted engine reuses the compiled kernels"),
  ENGINE_WARMUP: v(flag, '1', 'Run every preset once when the engine starts'),
  ENGINE_LOG_LEVEL: v(engine.log_level, 'WARNING', 'Python logging level of the engine'),
  ENGINE_CFG_PARALLEL: v(z.enum(['0', '1']), '0', '1 = each engine spreads every clip over two GPUs, the conditional and unconditional halves of guidance in parallel; needs two visible GPUs per engine'),
  ENGINE_START_TIMEOUT_S: v(positiveInt, '900', 'Longest wait for the engine to load and warm up'),
  ENGINE_STEP_TIMEOUT_S: v(positiveInt, '120', 'Longest silence from a busy engine before it counts as hung and is restarted'),
  WORK_DIR: v(z.string().min(1), 'var/work', 'Temporary frames and MP4s, one folder per job, removed after the job'),
  OUTPUT_DIR: v(z.string().min(1), 'var/videos', 'Finished MP4s: local-file delivery and the result cache'),
  MIN_FREE_DISK_MB: v(nonNegativeInt, '1024', 'Free space kept in WORK_DIR beyond what a job needs; below it jobs wait and retry'),
  RESULT_RETENTION_HOURS: v(positiveNumber, '72', 'Stored clips older than this are deleted by the janitor (and identical requests no longer reuse them)'),
  OUTPUT_MAX_MB: v(positiveInt, '20480', 'Size cap of OUTPUT_DIR; the oldest clips are deleted first'),
  JANITOR_INTERVAL_S: v(positiveInt, '600', 'How often the worker sweeps stale job folders and old clips'),
  WORKER_LOCK_DURATION_MS: v(positiveInt, '30000', 'BullMQ job lock; a worker silent this long (dead) loses its job to another'),
  WORKER_STALLED_INTERVAL_MS: v(positiveInt, '30000', 'How often a worker looks for jobs whose worker died'),
  WORKER_ID: v(z.string(), '', 'Name of this worker in stats and /gpu status (default: hostname-pid)'),
  WORKER_GPUS: v(gpuPlan, 'auto', '`npm run workers`: one worker per GPU listed (nvidia-smi ids, e.g. 0,1; 0+1,2+3 with ENGINE_CFG_PARALLEL=1); auto = every GPU visible (paired with ENGINE_CFG_PARALLEL=1), or one CPU worker without GPUs'),

  HEARTBEAT_INTERVAL_MS: v(positiveInt, '5000', 'How often a worker writes its heartbeat to Redis; a heartbeat unrenewed for 3 intervals means the worker is dead'),
  GPU_UTIL_WARN_BELOW: v(ratio, '0.6', '/gpu status warns when GPU utilisation is below this fraction while a job denoises'),
  VRAM_WARN_ABOVE: v(ratio, '0.95', '/gpu status warns when this fraction of the VRAM is in use'),
  TEMP_WARN_ABOVE_C: v(positiveNumber, '85', '/gpu status warns when the GPU is hotter than this, in °C'),
  ENGINE_RESTARTS_WARN: v(positiveInt, '3', '/gpu status warns once a worker\'s engine has restarted this many times'),
  OPS_HOST: v(z.string().min(1), '127.0.0.1', 'Address the ops server (/metrics, /healthz, /dashboard) listens on; 0.0.0.0 opens it to the network'),
  METRICS_PORT: v(port, '9464', 'Port of the bot process\'s ops server: GET /metrics, GET /healthz and the dashboard under /dashboard/ (0 = off)'),
  WORKER_METRICS_PORT: v(port, '9465', 'Port of a worker process\'s ops server: GET /metrics and GET /healthz (0 = off)'),
  METRICS_TOKEN: v(longSecretOrEmpty, '', 'When set, GET /metrics needs `Authorization: Bearer <token>` (at least 16 characters); empty = open', true),
  DASHBOARD_USER: v(z.string(), '', 'Dashboard login (HTTP basic auth); the dashboard is off unless user and password are both set'),
  DASHBOARD_PASSWORD: v(longSecretOrEmpty, '', 'Dashboard password (HTTP basic auth), at least 16 characters; repeated failures from one address are refused for a while', true),

  WEB_HOST: v(z.string().min(1), '127.0.0.1', 'Address the web page listens on; anything beyond loopback needs WEB_TOKEN or WEB_USER + WEB_PASSWORD'),
  WEB_PORT: v(port, '8080', 'Port of the web page served by the bot process (0 = off)'),
  WEB_TOKEN: v(token, '', 'Access token for the web page: open it once as /?token=<token> (or send Authorization: Bearer <token>)', true),
  WEB_USER: v(z.string(), '', 'Web page login (HTTP basic auth), with WEB_PASSWORD'),
  WEB_PASSWORD: v(z.string(), '', 'Web page password (HTTP basic auth)', true),
  WEB_COOKIE_SECRET: v(z.string(), '', 'Key that signs the web page\'s per-browser user cookie; empty = one generated and kept in var/web-cookie-secret (set it when several bot processes serve the page)', true),

  ADMIN_IDS: v(idList, '', 'Platform-qualified admin ids allowed /gpu status, e.g. telegram:123,discord:456'),

  DISCORD_TOKEN: v(token, '', 'Discord bot token; when set, `npm start` runs the Discord bot and workers deliver to Discord', true),
  DISCORD_API_BASE: v(z.url({ protocol: /^https?$/ }), 'https://discord.com/api', 'Discord REST base (discord.js `rest.api`), for REST proxies; the gateway URL is taken from its GET /gateway/bot'),
  DISCORD_GUILD_ID: v(z.string().regex(/^(\d{17,20})?$/), '', '`npm run discord:register` registers the commands in this guild only (instant); empty = globally'),
  DISCORD_ADMIN_IDS: v(idList, '', 'Comma-separated Discord user ids allowed /gpu status (besides `discord:<id>` entries of ADMIN_IDS)'),
  DISCORD_ADMIN_ROLE_IDS: v(idList, '', 'Comma-separated Discord role ids whose members may use /gpu status'),
  DISCORD_EDIT_PACE_MS: v(positiveInt, '2000', 'Least time between two status-message edits in one Discord channel, held across every bot and worker process (over Redis)'),

  TELEGRAM_BOT_TOKEN: v(token, '', 'Telegram bot token from @BotFather; when set, `npm start` runs the Telegram bot and workers deliver to Telegram', true),
  TELEGRAM_ADMIN_IDS: v(idList, '', 'Comma-separated Telegram user ids allowed /gpu status (besides `telegram:<id>` entries of ADMIN_IDS)'),
  TELEGRAM_API_ROOT: v(z.url({ protocol: /^https?$/ }), 'https://api.telegram.org', 'Bot API server; a self-hosted telegram-bot-api server here also lifts the upload limit to 2000 MB'),
  TELEGRAM_WEBHOOK_URL: v(z.union([z.literal(''), z.url({ protocol: /^https$/ })]), '', 'Public HTTPS URL Telegram posts updates to (webhook mode); empty = long polling'),
  TELEGRAM_WEBHOOK_HOST: v(z.string().min(1), '127.0.0.1', 'Address the webhook server listens on (webhook mode only); 0.0.0.0 when the TLS proxy is on another host'),
  TELEGRAM_WEBHOOK_PORT: v(positiveInt, '8080', 'Local port the webhook server listens on, behind your TLS proxy (webhook mode only)'),
  TELEGRAM_WEBHOOK_SECRET: v(z.string().regex(/^[A-Za-z0-9_-]{0,256}$/), '', 'Secret Telegram sends with every webhook call; empty = a random one each start', true),
  TELEGRAM_EDIT_PACE_MS: v(positiveInt, '3000', 'Least time between two status-message edits in one Telegram chat, held across every bot and worker process (over Redis); Telegram allows about one per second per chat'),
  TELEGRAM_UPLOAD_LIMIT_MB: v(z.union([z.literal('').transform(() => null), positiveNumber]), '', 'Largest clip sent as is; bigger ones are re-encoded to fit. Empty = 50 on api.telegram.org, 2000 on a self-hosted API root'),
} as const;

export type EnvName = keyof typeof ENV_REGISTRY;
export type Env = { [K in EnvName]: z.output<(typeof ENV_REGISTRY)[K]['schema']> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `source` (process.env plus .env by default); throws ConfigError naming the first bad variable. */
export function parseEnv(source: NodeJS.ProcessEnv = loadProcessEnv()): Env {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV_REGISTRY) as [EnvName, EnvVar][]) {
    const raw = source[name] ?? spec.default;
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = spec.secret ? '<hidden>' : JSON.stringify(hideUrlPassword(String(raw)));
      const expected = parsed.error.issues[0]?.message ?? 'a valid value';
      throw new ConfigError(`${name}=${shown} is invalid: ${expected} (${spec.doc})`);
    }
    out[name] = parsed.data;
  }
  // The default address follows REDIS_LOCAL_PORT, so every process agrees on it (tests point it at a free port).
  if (source.REDIS_URL === undefined) out.REDIS_URL = `redis://127.0.0.1:${String(out.REDIS_LOCAL_PORT)}`;
  return out as Env;
}

/** True when the operator set `name` (environment or .env), false when its default applies. */
export function isSetByOperator(name: EnvName, source: NodeJS.ProcessEnv = process.env): boolean {
  return source[name] !== undefined;
}

/** Names of the variables marked secret (tokens, passwords): never logged (the engine's environment is allow-listed). */
export function secretEnvNames(): EnvName[] {
  return (Object.entries(ENV_REGISTRY) as [EnvName, EnvVar][]).filter(([, spec]) => spec.secret).map(([name]) => name);
}

/** `redis://user:pw@host` -> `redis://user:***@host`: config errors name the URL, never its password. */
export function hideUrlPassword(value: string): string {
  // Up to the last `@`: an unencoded password may itself hold `/`, `:` or `@`.
  const match = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/is.exec(value);
  if (!match) return value;
  const [, scheme, userinfo, rest] = match as unknown as [string, string, string, string];
  const colon = userinfo.indexOf(':');
  return `${scheme}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}@${rest}`;
}

function loadProcessEnv(): NodeJS.ProcessEnv {
  loadDotenv({ quiet: true });
  return process.env;
}

let cached: Env | undefined;

/** The process-wide configuration; on a bad value prints one line naming the variable and exits. */
export function env(): Env {
  if (cached) return cached;
  try {
    cached = parseEnv();
    return cached;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cogcast: configuration error: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
