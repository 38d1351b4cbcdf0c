// The engine contract as JSON Schema (draft-07), generated from the zod schemas: what the Python engine validates from.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { presetsFileSchema } from '../../config/presets.ts';
import { engineSettingsSchema, messageSchemas, requestSchemas } from './engine-protocol.ts';

/** Committed beside the engine package, which loads it (cogcast_engine/contract.py). */
export const CONTRACT_SCHEMA_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../engine/cogcast_engine/contract.schema.json');

// Input side: what a reader must accept (a field with a default may be left out).
const toJson = (schema: z.ZodType) => z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });
const each = (schemas: Record<string, z.ZodType>) => Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, toJson(schema)]));

/** One self-contained schema per message type, so that an error names the field, not "no branch matched". */
export function engineContractJsonSchema(): Record<string, unknown> {
  return {
    $comment: 'GENERATED from worker/engine-client/engine-protocol.ts by `node --import tsx worker/engine-client/write-contract-schema.ts`: do not edit.',
    settings: toJson(engineSettingsSchema),
    presets: toJson(presetsFileSchema),
    requests: each(requestSchemas),
    messages: each(messageSchemas),
  };
}

/** The file's expected text (stable key order, trailing newline). */
export function engineContractText(): string {
  return `${JSON.stringify(engineContractJsonSchema(), null, 2)}\n`;
}

/** True when the committed file is what the zod schemas generate today. */
export function committedContractIsCurrent(): boolean {
  try {
    return readFileSync(CONTRACT_SCHEMA_PATH, 'utf8') === engineContractText();
  } catch {
    return false;
  }
}
