// Fetches a platform's picture URL into memory, bounded in bytes and time; its errors never carry the URL (it may hold a token).
import { UserFacingError } from '../core/errors.ts';
import { imageTooBig } from '../core/image-upload.ts';

/** A picture that has not arrived after this long is given up on (default of `timeoutMs`). */
export const IMAGE_DOWNLOAD_TIMEOUT_MS = 30_000;

export interface DownloadInit {
  /** Sent with the request (e.g. an Authorization header). */
  headers?: Record<string, string>;
  /** The whole download, headers and body, in ms (default IMAGE_DOWNLOAD_TIMEOUT_MS). */
  timeoutMs?: number;
  /** For tests (default the global fetch). */
  fetchImpl?: typeof fetch;
}

/**
 * The body of `url`, at most `maxBytes`: refused by Content-Length before reading, and by counting while reading
 * (the download is aborted once over). Throws UserFacingError('image_too_big') or ('image_unavailable') only, built
 * here without a cause, so neither message, stack nor cause can show the URL.
 */
export async function downloadImage(url: string | URL, maxBytes: number, init: DownloadInit = {}): Promise<Buffer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), init.timeoutMs ?? IMAGE_DOWNLOAD_TIMEOUT_MS);
  try {
    const response = await (init.fetchImpl ?? fetch)(url, { headers: init.headers, signal: controller.signal, redirect: 'follow' });
    if (!response.ok || !response.body) throw unavailable();
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) throw imageTooBig(declared, maxBytes);

    const chunks: Uint8Array[] = [];
    let received = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) throw imageTooBig(received, maxBytes);
      chunks.push(value);
    }
    return Buffer.concat(chunks, received);
  } catch (error) {
    if (error instanceof UserFacingError) throw error;
    // fetch's own errors (and their causes) may quote the URL: only the code leaves this function.
    throw unavailable();
  } finally {
    clearTimeout(timer);
    // Stops a body we refused or gave up on (no-op after a complete read): the socket is not kept reading.
    controller.abort();
  }
}

function unavailable(): UserFacingError {
  return new UserFacingError('image_unavailable');
}
