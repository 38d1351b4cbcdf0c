/** Bot API error values: the exception handlers throw and the constructors for Telegram's usual error texts. */

import type { Fault, TgResponse, TgResponseParameters } from './types.ts';

/** Thrown by method handlers; becomes `{ ok: false, error_code, description, parameters? }` with HTTP status = error_code. */
export class ApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: TgResponseParameters,
  ) {
    super(description);
    this.name = 'ApiError';
  }

  toResponse(): TgResponse {
    return this.parameters === undefined
      ? { ok: false, error_code: this.errorCode, description: this.description }
      : { ok: false, error_code: this.errorCode, description: this.description, parameters: this.parameters };
  }
}

export const badRequest = (detail: string): ApiError => new ApiError(400, `Bad Request: ${detail}`);
export const conflict = (detail: string): ApiError => new ApiError(409, `Conflict: ${detail}`);
export const notFound = (): ApiError => new ApiError(404, 'Not Found');
export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized');
export const entityTooLarge = (): ApiError => new ApiError(413, 'Request Entity Too Large');

/** The flood-control answer Telegram gives, ready for failNext(). */
export function tooManyRequests(retryAfter: number): Fault {
  return {
    error_code: 429,
    description: `Too Many Requests: retry after ${retryAfter}`,
    parameters: { retry_after: retryAfter },
  };
}

/** A gateway failure as Telegram's front end produces it (telegraf reports status and statusText). */
export function serverError(status = 502, statusText = 'Bad Gateway'): Fault {
  return { error_code: status, description: statusText };
}
