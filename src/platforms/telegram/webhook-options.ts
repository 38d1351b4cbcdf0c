// Where the Telegram webhook server listens, and the secret Telegram must send with every update: loopback unless
// TELEGRAM_WEBHOOK_HOST opens it, and a secret that is configured or random at each start, never derived from the
// bot token (a leaked token must not also forge updates).
import { randomBytes } from 'node:crypto';
import type { Env } from '../../../config/env.ts';
import { registerSecret } from '../../core/scrub-secrets.ts';

/** telegraf's `launch({ webhook })` options. */
export interface WebhookOptions {
  domain: string;
  path: string;
  host: string;
  port: number;
  secretToken: string;
}

type WebhookConfig = Pick<Env, 'TELEGRAM_WEBHOOK_URL' | 'TELEGRAM_WEBHOOK_HOST' | 'TELEGRAM_WEBHOOK_PORT' | 'TELEGRAM_WEBHOOK_SECRET'>;

/** 48 hex characters: within Telegram's secret_token alphabet (A-Z a-z 0-9 _ -) and length (1-256). */
export function randomWebhookSecret(): string {
  return randomBytes(24).toString('hex');
}

export function webhookOptions(config: WebhookConfig): WebhookOptions {
  const url = new URL(config.TELEGRAM_WEBHOOK_URL);
  // setWebhook is called again at every start with this secret, so a new random one each time is enough.
  const secretToken = config.TELEGRAM_WEBHOOK_SECRET || randomWebhookSecret();
  registerSecret(secretToken);
  return { domain: url.host, path: url.pathname, host: config.TELEGRAM_WEBHOOK_HOST, port: config.TELEGRAM_WEBHOOK_PORT, secretToken };
}
