// User-visible errors: an identifier per failure, mapped through the text catalogue to the one message a person sees.
import { ERROR_TEXTS, type ErrorTextId, text } from './texts.ts';

/** The failure texts of the catalogue (src/core/texts.ts), by error code. */
export const USER_MESSAGES = ERROR_TEXTS;

export type UserErrorCode = ErrorTextId;

/** An error whose message is safe and useful to show to the person who asked. */
export class UserFacingError extends Error {
  override name = 'UserFacingError';
  constructor(
    readonly code: UserErrorCode,
    readonly params: Record<string, string | number> = {},
  ) {
    super(renderUserMessage(code, params));
  }
}

export function renderUserMessage(code: UserErrorCode, params: Record<string, string | number> = {}, locale?: string): string {
  return text(code, params, locale);
}
