// User-visible errors: an identifier per failure, mapped to the one message a person sees.

export const USER_MESSAGES = {
  prompt_empty: 'Please describe the video: the prompt is empty.',
  prompt_too_long: 'That prompt is too long ({length} characters); the limit is {max}.',
  prompt_blocked: 'That prompt contains words this bot does not accept. Please rephrase it.',
  unknown_preset: 'Unknown preset "{preset}". Choose one of: {choices}.',
  bad_seed: 'The seed must be a whole number from 0 to {max}.',
  bad_option: 'I did not understand "{option}". Options look like preset=draft seed=42.',
  quota_pending: 'You already have {count} videos in the queue (limit {max}). Wait for one to finish.',
  quota_hourly: 'You have reached {max} videos this hour. Try again in about {minutes} minutes.',
  rate_limited: 'Too many requests right now. Try again in a few seconds.',
  queue_full: 'The queue is full ({waiting} videos waiting). Please try again later.',
  queue_unavailable: 'The video queue is unavailable right now. Please try again in a minute.',
  not_admin: 'Sorry, this command is not available to you.',
  job_not_found: 'That video request no longer exists.',
  not_your_job: 'You can only cancel your own videos.',
  job_finished: 'That video has already finished.',
  engine_failed: 'The video could not be generated: {reason}',
  cancelled: 'Cancelled.',
  internal: 'Something went wrong on our side. Please try again.',
  demo_model: 'demo model: the clips are noise; set ENGINE_MODEL to a CogVideoX-2b directory',
} as const;

export type UserErrorCode = keyof typeof USER_MESSAGES;

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

export function renderUserMessage(code: UserErrorCode, params: Record<string, string | number> = {}): string {
  return USER_MESSAGES[code].replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? `{${key}}`));
}
