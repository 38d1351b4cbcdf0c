/** Reads a Bot API request (query string, JSON, urlencoded or multipart) into loosely typed params plus uploaded files. */
import { badRequest } from './errors.ts';
import { isMultipart, parseMultipart } from '../multipart.ts';
import type { UploadedFile } from './types.ts';

export { readBody } from '../multipart.ts';

export interface ParsedRequest {
  params: Record<string, unknown>;
  files: Map<string, UploadedFile>;
}

/** Merges query-string parameters with the body's, the body winning, like the Bot API does. */
export async function parseRequest(contentType: string | undefined, body: Buffer, query: URLSearchParams): Promise<ParsedRequest> {
  const params: Record<string, unknown> = Object.fromEntries(query);
  const files = new Map<string, UploadedFile>();
  if (body.length === 0) return { params, files };
  if (isMultipart(contentType)) {
    let parts;
    try {
      parts = await parseMultipart(body, contentType!);
    } catch (error) {
      throw badRequest(`can't parse multipart/form-data: ${(error as Error).message}`);
    }
    for (const part of parts) {
      if (part.filename === undefined) {
        params[part.name] = part.data.toString('utf8');
      } else {
        const file: UploadedFile = { fieldName: part.name, bytes: part.data, filename: part.filename };
        if (part.contentType !== undefined) file.contentType = part.contentType;
        files.set(part.name, file);
      }
    }
    return { params, files };
  }
  if (contentType !== undefined && /application\/x-www-form-urlencoded/i.test(contentType)) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    return { params, files };
  }
  // Telegraf always sends JSON here; like the real server, accept JSON even without the header.
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest("can't parse JSON request body");
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('request body must be a JSON object');
  }
  Object.assign(params, parsed);
  return { params, files };
}

/**
 * Typed access to request params. The Bot API coerces: "42" is a fine integer, "true" a fine
 * boolean, and JSON fields may arrive as objects (JSON body) or as strings (multipart/query).
 */
export class Params {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly files: Map<string, UploadedFile> = new Map(),
  ) {}

  has(name: string): boolean {
    const value = this.raw[name];
    return value !== undefined && value !== null && value !== '';
  }

  str(name: string): string | undefined {
    const value = this.raw[name];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  }

  int(name: string): number | undefined {
    const value = this.raw[name];
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
    return undefined;
  }

  bool(name: string): boolean | undefined {
    const value = this.raw[name];
    if (value === true || value === 'true' || value === 1 || value === '1') return true;
    if (value === false || value === 'false' || value === 0 || value === '0') return false;
    return undefined;
  }

  /** Object/array params; strings are JSON-decoded, failures reported with the given Bot API text. */
  json(name: string, errorDetail: string): unknown {
    const value = this.raw[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      throw badRequest(errorDetail);
    }
  }

  /** chat_id: an integer id or "@username". */
  chatId(): number | string {
    const id = this.int('chat_id');
    if (id !== undefined) return id;
    const name = this.str('chat_id');
    if (name === undefined || name === '') throw badRequest('chat_id is empty');
    return name;
  }
}
