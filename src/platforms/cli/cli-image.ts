// `npm run video -- --image FILE`: the terminal user's own picture, read from their disk within the size limit.
import { open } from 'node:fs/promises';
import { type ImageUpload, imageTooBig } from '../../core/image-upload.ts';
import { UserFacingError } from '../../core/errors.ts';

export function fileImageUpload(path: string): ImageUpload {
  return {
    async fetch(maxBytes) {
      let file;
      try {
        file = await open(path, 'r');
      } catch {
        throw new UserFacingError('image_unavailable');
      }
      try {
        const { size } = await file.stat();
        if (size > maxBytes) throw imageTooBig(size, maxBytes);
        const bytes = Buffer.alloc(size);
        await file.read(bytes, 0, size, 0);
        return bytes;
      } catch (err) {
        if (err instanceof UserFacingError) throw err;
        throw new UserFacingError('image_unavailable');
      } finally {
        await file.close();
      }
    },
  };
}
