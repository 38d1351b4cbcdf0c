/** Parses multipart/form-data bodies (as telegraf's MultipartStream writes them) into fields and byte-exact file parts. */

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** Boundary from a Content-Type header, or undefined when the body is not multipart/form-data. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^\s*multipart\/form-data\b/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Splits a complete body on its boundary. Works on Buffers throughout (never strings) so that file
 * bytes come out identical to what the client sent. Telegraf writes `--b\r\n` first, `\r\n--b\r\n`
 * between parts and `\r\n--b--` last with no trailing CRLF; a preamble or trailing CRLF is tolerated too.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let cursor = body.indexOf(delimiter);
  if (cursor === -1) throw new Error('multipart body has no opening boundary');
  for (;;) {
    cursor += delimiter.length;
    // "--" right after a delimiter marks the close delimiter.
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) return parts;
    // Transport padding (spaces/tabs) may precede the CRLF that ends the delimiter line.
    while (body[cursor] === 0x20 || body[cursor] === 0x09) cursor++;
    if (body[cursor] !== 0x0d || body[cursor + 1] !== 0x0a) throw new Error('malformed multipart delimiter line');
    cursor += 2;
    // A part ends at CRLF + delimiter; searching for both avoids cutting at a boundary-like run inside file bytes.
    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), cursor);
    if (next === -1) throw new Error('multipart body is missing its closing boundary');
    parts.push(parsePart(body.subarray(cursor, next)));
    cursor = next + CRLF.length;
  }
}

function parsePart(raw: Buffer): MultipartPart {
  // A part with no headers starts with the blank line directly.
  const headerEnd = raw.subarray(0, 2).equals(CRLF) ? 0 : raw.indexOf(HEADER_END);
  if (headerEnd === -1) throw new Error('multipart part has no header terminator');
  const headerText = raw.subarray(0, headerEnd).toString('utf8');
  const data = raw.subarray(headerEnd === 0 ? 2 : headerEnd + HEADER_END.length);
  const headers = new Map<string, string>();
  for (const line of headerText.split('\r\n')) {
    // Telegraf writes "content-disposition:form-data; ..." with no space after the colon.
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = parseDisposition(headers.get('content-disposition') ?? '');
  const name = disposition.get('name');
  if (name === undefined) throw new Error('multipart part has no name');
  const part: MultipartPart = { name, data: Buffer.from(data) };
  const filename = disposition.get('filename');
  if (filename !== undefined) part.filename = filename;
  const contentType = headers.get('content-type');
  if (contentType !== undefined) part.contentType = contentType;
  return part;
}

/** `form-data; name="video"; filename="a.mp4"` -> { name, filename }; quoted values may contain ';'. */
function parseDisposition(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const key = m[1]?.toLowerCase();
    if (key === undefined) continue;
    const quoted = m[2];
    params.set(key, quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (m[3] ?? '').trim());
  }
  return params;
}
