// Loads and validates the locked presets file: the only place a video shape is named.
// This zod schema is the one set of rules: the engine validates the same presets from its JSON Schema export
// (worker/engine/cogcast_engine/contract.schema.json), so every rule here is also written in JSON Schema terms
// (`.meta()` adds what zod's checks cannot export: the 4k+1 frame counts, non-empty, the fidelity flag).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_MODEL, type ModelName, modelNameSchema, modelSpec } from './models.ts';

/** Error texts both sides print: zod here, the engine from the schema's `errorMessage` (ajv-errors' keyword). */
export const PRESET_RULES = {
  frames: 'must be 4k+1 (e.g. 9, 49)',
  tradesFidelity: 'a preset with a step cache must say tradesFidelity: true',
  fp8: 'an fp8 preset must say tradesFidelity: true',
  presets: 'must be a non-empty object of name -> preset',
  name: 'preset names are lowercase words',
} as const;

/** CogVideoX's VAE compresses time 4x and keeps the first frame: 4k+1 frames, up to CogVideoX 1.5's 161. */
export const MAX_FRAMES = 161;
const FRAME_COUNTS = Array.from({ length: (MAX_FRAMES - 1) / 4 + 1 }, (_, k) => 4 * k + 1);
// Sides divisible by the VAE's 8x spatial compression times the transformer's 2x2 patch.
const SIDE_MULTIPLE = 16;

// Optional step cache (engine: worker/engine/cogcast_engine/step_cache.py): faster, but not the same frames.
const cacheSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('first_block'), threshold: z.number().gt(0).lt(1) }),
  z.strictObject({ kind: z.literal('taylorseer'), interval: z.int().min(2) }),
]);

/** JSON Schema for the refines below: `tradesFidelity: true` required. */
const mustTradeFidelity = (errorMessage: string) => ({ required: ['tradesFidelity'], properties: { tradesFidelity: { const: true, errorMessage } } });

const side = z.int().min(1).multipleOf(SIDE_MULTIPLE);

export const presetSchema = z
  .strictObject({
    description: z.string().min(1),
    /** The model it runs (config/models.ts); absent: cogvideox-2b. Workers take only their model's presets. */
    model: modelNameSchema.optional(),
    width: side,
    height: side,
    frames: z
      .int()
      .min(1)
      .max(MAX_FRAMES)
      .refine((n) => FRAME_COUNTS.includes(n), PRESET_RULES.frames)
      .meta({ enum: FRAME_COUNTS, errorMessage: PRESET_RULES.frames }),
    fps: z.int().min(1).max(60),
    steps: z.int().min(1).max(200),
    guidance: z.number().min(0).max(30),
    tradesFidelity: z.boolean().optional(),
    cache: cacheSchema.optional(),
    // Kernel precision (engine: worker/engine/cogcast_engine/turbo.py): fp8 is faster, but not the same frames.
    precision: z.enum(['full', 'fp8']).optional(),
  })
  .refine((p) => !p.cache || p.tradesFidelity === true, { message: PRESET_RULES.tradesFidelity, path: ['tradesFidelity'] })
  .refine((p) => p.precision !== 'fp8' || p.tradesFidelity === true, { message: PRESET_RULES.fp8, path: ['tradesFidelity'] })
  .meta({
    allOf: [
      { if: { required: ['cache'] }, then: mustTradeFidelity(PRESET_RULES.tradesFidelity) },
      { if: { required: ['precision'], properties: { precision: { const: 'fp8' } } }, then: mustTradeFidelity(PRESET_RULES.fp8) },
    ],
  });

export const presetsFileSchema = z
  .strictObject({
    $comment: z.string().optional(),
    default: z.string(),
    presets: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/, PRESET_RULES.name).meta({ errorMessage: PRESET_RULES.name }), presetSchema)
      // Here the default's refine below already refuses an empty object (it names no preset); the engine says so first.
      .meta({ minProperties: 1, errorMessage: PRESET_RULES.presets }),
  })
  // JSON Schema cannot say this one: the engine checks it in presets.py, and test/unit/engine-contract.test.ts
  // checks that both sides refuse the same files.
  .refine((f) => f.default in f.presets, { message: 'default must name one of the presets', path: ['default'] });

export type PresetsDocument = z.infer<typeof presetsFileSchema>;
export type PresetSpec = z.infer<typeof presetSchema>;
export interface Preset extends PresetSpec {
  name: string;
}
export interface PresetBook {
  defaultName: string;
  byName: ReadonlyMap<string, Preset>;
  names: readonly string[];
  /** The validated file, as the worker hands it to the engine (its settings' `presets`). */
  document: PresetsDocument;
}

export class PresetsFileError extends Error {
  override name = 'PresetsFileError';
}

/** `presets.a.frames: must be 4k+1 (e.g. 9, 49)`: the first issue, named by its path. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.join('.') || '(root)';
  return `${where}: ${issue?.message ?? 'invalid'}`;
}

/** Validates a presets document (already parsed JSON); throws PresetsFileError naming `source` and the bad field. */
export function parsePresets(raw: unknown, source = 'presets'): PresetBook {
  const parsed = presetsFileSchema.safeParse(raw);
  if (!parsed.success) throw new PresetsFileError(`${source}: ${describeIssue(parsed.error)}`);
  const byName = new Map<string, Preset>();
  for (const [name, spec] of Object.entries(parsed.data.presets)) byName.set(name, { name, ...spec });
  return { defaultName: parsed.data.default, byName, names: [...byName.keys()], document: parsed.data };
}

/** Reads and validates a presets file; throws PresetsFileError naming the file and the bad field. */
export function loadPresets(path: string): PresetBook {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PresetsFileError(`presets file ${path}: ${(err as Error).message}`);
  }
  return parsePresets(raw, `presets file ${path}`);
}

/** The model a preset runs. */
export function presetModel(preset: Pick<PresetSpec, 'model'>): ModelName {
  return preset.model ?? DEFAULT_MODEL;
}

/** An image-to-video preset: every job of it brings a picture. */
export function takesImage(preset: Pick<PresetSpec, 'model'>): boolean {
  return modelSpec(presetModel(preset)).input === 'image';
}

/** The names of the image-to-video presets, in the book's order. */
export function imagePresetNames(book: PresetBook): string[] {
  return book.names.filter((name) => takesImage(book.byName.get(name)!));
}

/** Every model some preset of the book runs, in the book's order. */
export function modelsOf(book: PresetBook): ModelName[] {
  return [...new Set([...book.byName.values()].map(presetModel))];
}

/**
 * The presets a worker holding `model` serves, as a document its engine warms (the default: the book's when it is
 * one of them, else the first); null when the book has none for that model.
 */
export function presetsForModel(book: PresetBook, model: ModelName): PresetsDocument | null {
  const entries = Object.entries(book.document.presets).filter(([, spec]) => presetModel(spec) === model);
  if (entries.length === 0) return null;
  const names = entries.map(([name]) => name);
  return { ...book.document, default: names.includes(book.defaultName) ? book.defaultName : names[0]!, presets: Object.fromEntries(entries) };
}
