// Each browser is one user: a random id in a signed cookie (HMAC-SHA256 from node:crypto), and a CSRF token
// derived from it that every form must carry. The key comes from WEB_COOKIE_SECRET or var/web-cookie-secret.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Request, Response } from 'express';

const USER_COOKIE = 'cogcast_user';
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;
const USER_ID = /^[0-9a-f]{32}$/;

/** One cookie's value from the request's Cookie header (no parser middleware needed for two cookies). */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export class WebIdentity {
  constructor(private readonly key: Buffer) {}

  /** WEB_COOKIE_SECRET, else the key kept in `file` (made on first use, readable by this user only). */
  static load(secret: string, file: string): WebIdentity {
    if (secret) return new WebIdentity(Buffer.from(secret, 'utf8'));
    try {
      return new WebIdentity(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url'));
    } catch {
      const key = randomBytes(32);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, key.toString('base64url'), { mode: 0o600 });
      chmodSync(file, 0o600);
      return new WebIdentity(key);
    }
  }

  private mac(purpose: string, value: string): string {
    return createHmac('sha256', this.key).update(`${purpose}:${value}`).digest('base64url');
  }

  /** The user id of a request with a valid cookie, else null. */
  userOf(req: Request): string | null {
    const cookie = readCookie(req, USER_COOKIE);
    const dot = cookie?.indexOf('.') ?? -1;
    if (!cookie || dot < 0) return null;
    const id = cookie.slice(0, dot);
    if (!USER_ID.test(id) || !this.equal(cookie.slice(dot + 1), this.mac('user', id))) return null;
    return id;
  }

  /** The request's user, or a new one whose cookie is set on `res`. */
  userOrNew(req: Request, res: Response): string {
    const known = this.userOf(req);
    if (known) return known;
    const id = randomUUID().replace(/-/g, '');
    res.cookie(USER_COOKIE, `${id}.${this.mac('user', id)}`, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: ONE_YEAR_MS });
    return id;
  }

  csrfToken(userId: string): string {
    return this.mac('csrf', userId);
  }

  checkCsrf(userId: string, token: unknown): boolean {
    return typeof token === 'string' && this.equal(token, this.csrfToken(userId));
  }

  private equal(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }
}
