// Structured JSON logs (pino) on stderr; secrets are redacted as fields and scrubbed from every line's text.
import { pino, type Logger } from 'pino';
import { type Env, ENV_REGISTRY, secretEnvNames } from '../../config/env.ts';
import { REDACTED, registerSecret, scrubSecrets } from './scrub-secrets.ts';

const secretFields = secretEnvNames().flatMap((name) => [name, `*.${name}`]);

// Secrets can hide in message text too (an error quoting a request URL): every written line is scrubbed of
// the configured secret values and of anything shaped like a credential (scrub-secrets.ts).
export { registerSecret } from './scrub-secrets.ts';

function registerConfiguredSecrets(source: Record<string, unknown>): void {
  for (const name of secretEnvNames()) registerSecret(typeof source[name] === 'string' ? source[name] : undefined);
  try {
    registerSecret(decodeURIComponent(new URL(String(source.REDIS_URL ?? '')).password));
  } catch {
    /* no URL, no password */
  }
}
registerConfiguredSecrets(process.env);

// A bad LOG_LEVEL must not crash at import: env() reports it as a configuration error naming the variable.
const initialLevel = ENV_REGISTRY.LOG_LEVEL.schema.safeParse(process.env.LOG_LEVEL ?? 'info');

const JOB_FIELDS = Symbol('cogcast.jobFields');
type JobFieldsSource = () => Record<string, unknown> | null;

const root = pino(
  {
    level: initialLevel.success ? initialLevel.data : 'info',
    base: { pid: process.pid },
    redact: { paths: ['token', '*.token', 'botToken', '*.botToken', 'authorization', '*.authorization', 'interactionToken', '*.interactionToken', 'target.token', '*.target.token', ...secretFields], censor: REDACTED },
    hooks: { streamWrite: scrubSecrets },
    // Lines of a logger made with withJobFields carry the running job's id, user and platform, unless bound already.
    mixin(_fields, _level, log) {
      const current = (log as unknown as Record<symbol, JobFieldsSource | undefined>)[JOB_FIELDS];
      const fields = current?.();
      if (!fields || 'jobId' in log.bindings()) return {};
      return fields;
    },
  },
  pino.destination(2),
);

/** Applies the parsed configuration: LOG_LEVEL (also from .env, read after this module loaded) and its secrets. */
export function configureLogs(config: Pick<Env, 'LOG_LEVEL' | 'REDIS_URL'> & Partial<Env>): void {
  root.level = config.LOG_LEVEL;
  registerConfiguredSecrets(config);
}

/** A child of `log` whose lines (its children's too) carry `current()`'s fields, e.g. the job a worker is running. */
export function withJobFields(log: Logger, current: JobFieldsSource): Logger {
  const child = log.child({});
  (child as unknown as Record<symbol, JobFieldsSource>)[JOB_FIELDS] = current;
  return child;
}

/** A child logger naming the component; add jobId, user and platform as fields on each line. */
export function logger(component: string, fields: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...fields });
}
