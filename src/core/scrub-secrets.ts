// The one scrubber: every text that may leave the process (log lines, failedReason, heartbeats, /gpu status, the
// dashboard) passes through scrubSecrets, which removes configured secrets and anything shaped like a credential.
export const REDACTED = '[redacted]';

const secretValues = new Set<string>();

// Shapes, not values: a token we were never told about (another bot's, a URL's) is still removed.
const CREDENTIAL_SHAPES: [RegExp, string][] = [
  // Bot API URLs carry the whole token in their path: https://api.telegram.org/bot<id>:<token>/sendVideo
  [/\/bot\d+:[A-Za-z0-9_-]+/g, `/bot${REDACTED}`],
  // A Telegram bot token anywhere else.
  [/\d{5,}:[A-Za-z0-9_-]{30,}/g, REDACTED],
  // A Discord bot token (base64 id . timestamp . HMAC).
  [/[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}/g, REDACTED],
  // URL credentials: scheme://user:password@host (the password may hold `/`; it ends at the last `@` of the word).
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/"\\]*):[^\s"\\]*@/gi, `$1$2:${REDACTED}@`],
  // scheme://token@host: a bare credential in the user part.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s:@/"\\]+@/gi, `$1${REDACTED}@`],
];

/** Never show `value` (shorter than 6 characters is ignored: scrubbing it would mangle ordinary words). */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secretValues.add(value);
}

/** `text` without any registered secret (raw or JSON-escaped) and without any credential-shaped substring. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of secretValues) {
    out = out.split(secret).join(REDACTED);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) out = out.split(escaped).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(REDACTED);
  }
  for (const [shape, replacement] of CREDENTIAL_SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** The same error, its message and stack scrubbed in place (its class, code and retry meaning kept). */
export function scrubError<E extends Error>(err: E): E {
  try {
    err.message = scrubSecrets(err.message);
    if (typeof err.stack === 'string') err.stack = scrubSecrets(err.stack);
  } catch {
    // A frozen or getter-only error: leave it, the log scrubber still applies to its lines.
  }
  return err;
}
