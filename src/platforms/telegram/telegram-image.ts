// The picture a Telegram message carries (a photo, or a document of an image type) as an ImageUpload: getFile, then a bounded download.
import { type Telegram, TelegramError } from 'telegraf';
import type { Message } from 'telegraf/types';
import { type ImageUpload, imageTooBig } from '../../core/image-upload.ts';
import { UserFacingError } from '../../core/errors.ts';
import { downloadImage } from '../../media/image-download.ts';
import { withBotApiRetry } from './bot-api-retry.ts';

/** The Bot API hands bots files of at most 20 MB (getFile answers "file is too big" above it). */
export const TELEGRAM_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;

/** A file of Telegram's servers, as a message names it. */
export interface TelegramPicture {
  fileId: string;
  fileSize?: number;
}

/**
 * The picture of a message: the largest size of a photo, or a document whose MIME type says image (its bytes are
 * checked later anyway). Null for anything else.
 */
export function pictureOf(message: Message | undefined): TelegramPicture | null {
  if (!message) return null;
  if ('photo' in message && message.photo.length > 0) {
    const largest = message.photo.reduce((best, size) => (size.width * size.height > best.width * best.height ? size : best));
    return { fileId: largest.file_id, ...(largest.file_size !== undefined ? { fileSize: largest.file_size } : {}) };
  }
  if ('document' in message && message.document.mime_type?.startsWith('image/')) {
    return { fileId: message.document.file_id, ...(message.document.file_size !== undefined ? { fileSize: message.document.file_size } : {}) };
  }
  return null;
}

/**
 * The picture as the core fetches it. The file URL holds the bot token: it is built here, handed to downloadImage
 * only, and no error leaving this module carries it (every failure becomes image_too_big or image_unavailable).
 */
export function telegramImageUpload(telegram: Telegram, picture: TelegramPicture): ImageUpload {
  return {
    ...(picture.fileSize !== undefined ? { declaredBytes: picture.fileSize } : {}),
    async fetch(maxBytes) {
      const limit = Math.min(maxBytes, TELEGRAM_DOWNLOAD_MAX_BYTES);
      if (picture.fileSize !== undefined && picture.fileSize > limit) throw imageTooBig(picture.fileSize, limit);
      let file: Awaited<ReturnType<Telegram['getFile']>>;
      try {
        file = await withBotApiRetry(() => telegram.getFile(picture.fileId), { attempts: 3, maxWaitMs: 5_000 });
      } catch (err) {
        if (err instanceof TelegramError && err.code === 400 && /file is too big/i.test(err.description)) {
          throw imageTooBig(picture.fileSize ?? TELEGRAM_DOWNLOAD_MAX_BYTES + 1, TELEGRAM_DOWNLOAD_MAX_BYTES);
        }
        throw new UserFacingError('image_unavailable');
      }
      if (file.file_size !== undefined && file.file_size > limit) throw imageTooBig(file.file_size, limit);
      if (!file.file_path) throw new UserFacingError('image_unavailable');
      let url: URL;
      try {
        url = await telegram.getFileLink(file);
      } catch {
        throw new UserFacingError('image_unavailable');
      }
      // A local Bot API server answers with a path on its own disk: not ours to read.
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UserFacingError('image_unavailable');
      return downloadImage(url, limit);
    },
  };
}
