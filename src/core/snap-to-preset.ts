// Snaps a request to one of the locked presets: no free-form shape ever reaches the GPU.
import type { Preset, PresetBook } from '../../config/presets.ts';
import { UserFacingError } from './errors.ts';
import { echoInput } from './prompt.ts';

export const MAX_SEED = 2 ** 32 - 1;
/** How much of an unknown preset name the refusal repeats. */
export const PRESET_ECHO_CHARS = 32;

/** The named preset (case-insensitive) or the default; an unknown name is refused with the choices listed. */
export function snapToPreset(book: PresetBook, requested?: string): Preset {
  const name = (requested ?? '').trim().toLowerCase() || book.defaultName;
  const preset = book.byName.get(name);
  if (!preset) {
    throw new UserFacingError('unknown_preset', { preset: echoInput(requested ?? '', PRESET_ECHO_CHARS), choices: book.names.join(', ') });
  }
  return preset;
}

/** The seed asked for, or a fresh random one: every job records the seed it ran with. */
export function chooseSeed(requested?: number | string, random: () => number = Math.random): number {
  if (requested === undefined || requested === '') return Math.floor(random() * MAX_SEED);
  const seed = typeof requested === 'number' ? requested : Number(requested);
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new UserFacingError('bad_seed', { max: MAX_SEED });
  return seed;
}
