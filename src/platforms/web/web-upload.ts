// The web page's picture upload (multipart/form-data): multer in memory, one file, within IMAGE_MAX_BYTES, handed
// to the video command as an ImageUpload. The bytes never touch the disk here; the command checks their content.
import type { Request, Response } from 'express';
import multer from 'multer';
import { type ImageUpload, imageTooBig } from '../../core/image-upload.ts';
import { UserFacingError } from '../../core/errors.ts';

export type UploadOutcome = { image?: ImageUpload } | { refused: UserFacingError };

export function pictureUpload(maxBytes: number): (req: Request, res: Response) => Promise<UploadOutcome> {
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxBytes, files: 1, fields: 16, fieldSize: 64 * 1024, parts: 20 } }).single('image');
  return (req, res) =>
    new Promise((resolve) => {
      if (!req.is('multipart/form-data')) return resolve({});
      upload(req, res, (err: unknown) => {
        if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') return resolve({ refused: imageTooBig(maxBytes + 1, maxBytes) });
        if (err) return resolve({ refused: new UserFacingError('bad_option', { option: 'image' }) });
        const file = req.file;
        // A form sent with an empty file field is no picture at all.
        if (!file || file.size === 0) return resolve({});
        const bytes = file.buffer;
        resolve({ image: { declaredBytes: bytes.length, fetch: async () => bytes } });
      });
    });
}
