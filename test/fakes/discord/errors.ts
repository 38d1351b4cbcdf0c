/** Discord's REST error shapes (`{message, code, errors?}`) as a throwable, with the codes bots branch on. */

/** A Discord-shaped error; rest-routes turns it into `{message, code, errors?}` with this HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }

  toBody(): Record<string, unknown> {
    return this.errors === undefined ? { message: this.message, code: this.code } : { message: this.message, code: this.code, errors: this.errors };
  }
}

// Messages and codes copied from what Discord answers, because bots branch on `code`.
export const Errors = {
  unauthorized: () => new ApiError(401, 0, '401: Unauthorized'),
  notFound: () => new ApiError(404, 0, '404: Not Found'),
  methodNotAllowed: () => new ApiError(405, 0, '405: Method Not Allowed'),
  unknownChannel: () => new ApiError(404, 10003, 'Unknown Channel'),
  unknownMessage: () => new ApiError(404, 10008, 'Unknown Message'),
  unknownWebhook: () => new ApiError(404, 10015, 'Unknown Webhook'),
  unknownInteraction: () => new ApiError(404, 10062, 'Unknown interaction'),
  tooLarge: () => new ApiError(413, 40005, 'Request entity too large'),
  alreadyAcknowledged: () => new ApiError(400, 40060, 'Interaction has already been acknowledged.'),
  cannotEditOthers: () => new ApiError(403, 50005, 'Cannot edit a message authored by another user'),
  emptyMessage: () => new ApiError(400, 50006, 'Cannot send an empty message'),
  invalidWebhookToken: () => new ApiError(401, 50027, 'Invalid Webhook Token'),
  invalidForm: (errors: unknown) => new ApiError(400, 50035, 'Invalid Form Body', errors),
  invalidJson: () => new ApiError(400, 50109, 'The request body contains invalid JSON.'),
};

/** Builds Discord's nested `errors` object, e.g. fieldError(['embeds','0','title'], ...). */
export function fieldError(path: string[], code: string, message: string): Record<string, unknown> {
  let node: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) node = { [key]: node };
  return node;
}
