/** Request bodies of the fake chat servers: read up to a size limit, and multipart/form-data split by busboy. */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import busboy from 'busboy';

export interface MultipartPart {
  name: string;
  /** Set for file parts (a Content-Disposition filename), byte-exact data. */
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export interface RawBody {
  body: Buffer;
  /** True when the body passed the limit; the rest was drained but not kept. */
  tooLarge: boolean;
}

/**
 * Reads the whole body, keeping at most `limit` bytes. Past the limit it keeps draining rather than closing the
 * socket, so that a client streaming an upload gets to read the 413 answer instead of failing with EPIPE.
 */
export async function readBody(req: IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<RawBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? { body: Buffer.alloc(0), tooLarge: true } : { body: Buffer.concat(chunks), tooLarge: false };
}

export function isMultipart(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*multipart\/form-data\b/i.test(contentType);
}

/** Splits a multipart/form-data body into its fields and files; rejects on a malformed body. */
export function parseMultipart(body: Buffer, contentType: string): Promise<MultipartPart[]> {
  return new Promise((resolve, reject) => {
    const parts: MultipartPart[] = [];
    let parser: busboy.Busboy;
    try {
      // defParamCharset utf8: filenames arrive as the client wrote them (discord.js and telegraf send UTF-8).
      parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { fieldSize: Number.MAX_SAFE_INTEGER } });
    } catch (error) {
      reject(error as Error);
      return;
    }
    parser.on('field', (name, value) => parts.push({ name, data: Buffer.from(value, 'utf8') }));
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => parts.push({ name, filename: info.filename ?? 'file', ...(info.mimeType ? { contentType: info.mimeType } : {}), data: Buffer.concat(chunks) }));
    });
    parser.on('error', reject);
    parser.on('close', () => resolve(parts));
    Readable.from([body]).pipe(parser);
  });
}
