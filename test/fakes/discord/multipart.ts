/** Parses multipart/form-data request bodies the way Discord reads them: `payload_json` plus `files[n]` parts, bytes untouched. */

export interface MultipartPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

/** Pulls the boundary out of a Content-Type header; undefined when the body is not multipart. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2]?.trim();
}

/**
 * Splits a body on its boundary. Works on Buffers end to end (never via strings) so that
 * binary file parts come out byte-identical to what the client uploaded.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let cursor = body.indexOf(delimiter);
  if (cursor === -1) throw new Error('multipart body has no opening boundary');
  for (;;) {
    cursor += delimiter.length;
    // "--" right after a delimiter marks the closing boundary.
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) break;
    // Skip the CRLF that ends the delimiter line.
    if (body[cursor] === 0x0d && body[cursor + 1] === 0x0a) cursor += 2;
    const next = body.indexOf(delimiter, cursor);
    if (next === -1) throw new Error('multipart body is missing its closing boundary');
    // The part's content ends with the CRLF that precedes the next delimiter.
    const partEnd = body[next - 2] === 0x0d && body[next - 1] === 0x0a ? next - 2 : next;
    parts.push(parsePart(body.subarray(cursor, partEnd)));
    cursor = next;
  }
  return parts;
}

function parsePart(raw: Buffer): MultipartPart {
  const headerEnd = raw.indexOf('\r\n\r\n');
  if (headerEnd === -1) throw new Error('multipart part has no header block');
  const headers = new Map<string, string>();
  for (const line of raw.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition') ?? '';
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
  if (name === undefined) throw new Error('multipart part has no name');
  // filename* (RFC 5987) wins over filename when both are present, as browsers and undici do.
  const extended = /\bfilename\*=(?:UTF-8'')?([^;]+)/i.exec(disposition)?.[1];
  const plain = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
  const filename = extended !== undefined ? decodeURIComponent(extended) : plain;
  return {
    name,
    filename,
    contentType: headers.get('content-type'),
    // Copy so stored attachments do not pin the whole request buffer.
    data: Buffer.from(raw.subarray(headerEnd + 4)),
  };
}
