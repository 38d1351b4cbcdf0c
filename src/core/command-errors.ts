// Typed errors at the inbound boundary: what a platform event or a command's failure means, without matching message text.
import { UserFacingError } from './errors.ts';

/** The request was refused for a reason the person should read (input, policy, quota): answered privately. */
export { UserFacingError };

/** The store behind the queue (Redis) could not be reached: answered as "queue unavailable", logged as a warning. */
export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
  constructor(override readonly cause: unknown) {
    super('the queue store is unreachable');
  }
}

/** A chat platform's API refused or failed a call of ours (Bot API error_code, Discord REST code). */
export class PlatformApiError extends Error {
  override name = 'PlatformApiError';
  constructor(
    readonly platform: 'discord' | 'telegram',
    /** The API's own code: Bot API error_code, Discord's JSON code or the HTTP status. */
    readonly code: number,
    /** The platform's description, for logs only. */
    readonly description: string,
    override readonly cause: unknown,
  ) {
    super(`${platform} API error ${code}: ${description}`);
  }

  /** The user never opened a private chat with the bot, or blocked it (Telegram 403 / 400 chat not found). */
  get cannotReachUser(): boolean {
    return this.code === 403 || (this.code === 400 && /chat not found/i.test(this.description));
  }
}
