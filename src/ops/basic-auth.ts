// HTTP basic authentication for the operators' pages: one user and password, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Credentials {
  user: string;
  password: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when the request carries exactly `expected` in its Authorization header. */
export function isAuthorized(req: IncomingMessage, expected: Credentials): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared, always, over equal-length digests: the time taken says nothing about which was wrong.
  const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected.password));
  return userOk && passwordOk;
}

export function refuse(res: ServerResponse, realm: string): void {
  res.writeHead(401, { 'www-authenticate': `Basic realm="${realm}", charset="UTF-8"`, 'content-type': 'text/plain' }).end('authentication required\n');
}
