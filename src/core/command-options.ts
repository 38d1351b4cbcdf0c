// A command's input fields as every platform shows them (type, required, description, choices, limits), derived from its zod schema.
import { z } from 'zod';
import { type AnyCommand, type CommandServices, type FieldMeta, type OptionChoice, fieldMeta, inputFields } from './command.ts';

export interface OptionSpec {
  /** The input field. */
  field: string;
  /** The name typed (`negative=`, `--negative`): the alias, else the field. */
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'attachment';
  required: boolean;
  description: string;
  meta: FieldMeta;
  choices?: OptionChoice[];
  minLength?: number;
  maxLength?: number;
  min?: number;
  max?: number;
}

interface JsonProperty {
  type?: string | string[];
  description?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
}

/** Every field of `command`'s input, in declaration order; without services, no configuration-dependent hints. */
export function commandOptions(command: AnyCommand, services?: Pick<CommandServices, 'env' | 'presets'>): OptionSpec[] {
  if (!command.input) return [];
  const json = z.toJSONSchema(command.input, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonProperty>; required?: string[] };
  const hints = (services && command.hints?.(services)) || {};
  return Object.entries(inputFields(command)).map(([field, schema]) => {
    const property = json.properties?.[field] ?? {};
    const meta = fieldMeta(schema);
    const hint = hints[field] ?? {};
    const jsonType = Array.isArray(property.type) ? property.type.find((t) => t !== 'null') : property.type;
    const type = meta.attachment ? 'attachment' : jsonType === 'integer' || jsonType === 'number' || jsonType === 'boolean' ? jsonType : 'string';
    const choices = hint.choices ?? property.enum?.map((v) => ({ value: String(v) }));
    const maxLength = hint.maxLength ?? property.maxLength;
    return {
      field,
      name: meta.alias ?? field,
      type,
      required: json.required?.includes(field) ?? false,
      description: meta.description ?? property.description ?? field,
      meta,
      ...(choices ? { choices } : {}),
      ...(property.minLength !== undefined ? { minLength: property.minLength } : {}),
      ...(maxLength !== undefined ? { maxLength } : {}),
      ...(property.minimum !== undefined ? { min: property.minimum } : {}),
      ...(property.maximum !== undefined ? { max: property.maximum } : {}),
    };
  });
}
