// A picture a person sent with a video command, as every platform hands it to the core: fetched on demand, bounded.
import { UserFacingError } from './errors.ts';

export interface ImageUpload {
  /** Bytes the platform declared before any download, when it did: checked against the limit first. */
  declaredBytes?: number;
  /**
   * Downloads (or reads) at most `maxBytes`: throws UserFacingError('image_too_big') when the picture is larger,
   * UserFacingError('image_unavailable') when it cannot be fetched (never a raw error, a URL or a token).
   */
  fetch(maxBytes: number): Promise<Buffer>;
}

export function isImageUpload(value: unknown): value is ImageUpload {
  return typeof value === 'object' && value !== null && typeof (value as ImageUpload).fetch === 'function';
}

/** "12.5 MB": a size as the image errors show it. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

export function imageTooBig(size: number, maxBytes: number): UserFacingError {
  return new UserFacingError('image_too_big', { size: formatBytes(size), max: formatBytes(maxBytes) });
}
