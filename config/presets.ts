// Loads and validates the locked presets file: the only place a video shape is named.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

// Optional step cache (engine: worker/engine/cogcast_engine/step_cache.py): faster, but not the same frames.
const cacheSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('first_block'), threshold: z.number().gt(0).lt(1) }).strict(),
  z.object({ kind: z.literal('taylorseer'), interval: z.number().int().min(2) }).strict(),
]);

const presetSchema = z
  .object({
    description: z.string().min(1),
    width: z.number().int().positive().multipleOf(16),
    height: z.number().int().positive().multipleOf(16),
    // CogVideoX's VAE compresses time 4x and keeps the first frame: 4k+1 frames.
    frames: z.number().int().positive().refine((n) => (n - 1) % 4 === 0, 'must be 4k+1 (e.g. 9, 49)'),
    fps: z.number().int().min(1).max(60),
    steps: z.number().int().min(1).max(200),
    guidance: z.number().min(0).max(30),
    tradesFidelity: z.boolean().optional(),
    cache: cacheSchema.optional(),
    // Kernel precision (engine: worker/engine/cogcast_engine/turbo.py): fp8 is faster, but not the same frames.
    precision: z.enum(['full', 'fp8']).optional(),
  })
  .strict()
  .refine((p) => !p.cache || p.tradesFidelity === true, { message: 'a preset with a step cache must say tradesFidelity: true', path: ['tradesFidelity'] })
  .refine((p) => p.precision !== 'fp8' || p.tradesFidelity === true, { message: 'an fp8 preset must say tradesFidelity: true', path: ['tradesFidelity'] });

const presetsFileSchema = z
  .object({
    $comment: z.string().optional(),
    default: z.string(),
    presets: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'preset names are lowercase words'), presetSchema),
  })
  .strict()
  .refine((f) => f.default in f.presets, { message: 'default must name one of the presets', path: ['default'] })
  .refine((f) => Object.keys(f.presets).length > 0, { message: 'at least one preset', path: ['presets'] });

export type PresetSpec = z.infer<typeof presetSchema>;
export interface Preset extends PresetSpec {
  name: string;
}
export interface PresetBook {
  defaultName: string;
  byName: ReadonlyMap<string, Preset>;
  names: readonly string[];
}

export class PresetsFileError extends Error {
  override name = 'PresetsFileError';
}

/** Reads and validates a presets file; throws PresetsFileError naming the file and the bad field. */
export function loadPresets(path: string): PresetBook {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PresetsFileError(`presets file ${path}: ${(err as Error).message}`);
  }
  const parsed = presetsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new PresetsFileError(`presets file ${path}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const byName = new Map<string, Preset>();
  for (const [name, spec] of Object.entries(parsed.data.presets)) byName.set(name, { name, ...spec });
  return { defaultName: parsed.data.default, byName, names: [...byName.keys()] };
}
