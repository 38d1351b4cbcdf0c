// Express middlewares guarding the ops server: HTTP basic auth (the `basic-auth` parser) for the dashboard and a
// bearer token for /metrics, both compared in constant time and both behind the per-address login throttle.
import { createHash, timingSafeEqual } from 'node:crypto';
import { parse as parseBasicAuth } from 'basic-auth';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { LoginThrottle } from './login-throttle.ts';

export interface Credentials {
  user: string;
  password: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Equal-length digests: the time taken says nothing about how much of `given` was right. */
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

/** True when the request carries exactly `expected` as basic-auth credentials. */
export function hasCredentials(req: Request, expected: Credentials): boolean {
  const given = parseBasicAuth(req.headers.authorization ?? '');
  if (!given) return false;
  // Both compared, always: which of the two was wrong is not told by the time either.
  const userOk = sameSecret(given.name, expected.user);
  const passwordOk = sameSecret(given.pass, expected.password);
  return userOk && passwordOk;
}

/** True when the request carries `Authorization: Bearer <token>`. */
export function hasBearerToken(req: Request, token: string): boolean {
  const match = /^Bearer +([^\s]+) *$/i.exec(req.headers.authorization ?? '');
  return match !== null && sameSecret(match[1]!, token);
}

interface GuardOptions {
  /** What the 401 asks for, e.g. `Basic realm="cogcast queue", charset="UTF-8"`. */
  challenge: string;
  isAuthorized(req: Request): boolean;
  throttle: LoginThrottle;
}

function refuse(res: Response, challenge: string): void {
  res.status(401).set('www-authenticate', challenge).type('text/plain').send('authentication required\n');
}

function tooMany(res: Response, seconds: number): void {
  res.status(429).set('retry-after', String(seconds)).type('text/plain').send('too many failed logins from this address; try again later\n');
}

/**
 * Lets authorized requests through. A request without credentials gets the challenge and costs nothing (a browser
 * asks first); wrong credentials count against the address, and a blocked address is refused (429) whatever it
 * sends, the right password too, so that a guess during the block learns nothing.
 */
export function guard(opts: GuardOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const check = async () => {
      if (!req.headers.authorization) return refuse(res, opts.challenge);
      if (opts.isAuthorized(req)) {
        const wait = await opts.throttle.blockedFor(address);
        if (wait > 0) return tooMany(res, wait);
        await opts.throttle.succeeded(address);
        return next();
      }
      const wait = await opts.throttle.failed(address);
      if (wait > 0) return tooMany(res, wait);
      refuse(res, opts.challenge);
    };
    check().catch(next);
  };
}

export function basicAuth(expected: Credentials, realm: string, throttle: LoginThrottle): RequestHandler {
  return guard({ challenge: `Basic realm="${realm}", charset="UTF-8"`, isAuthorized: (req) => hasCredentials(req, expected), throttle });
}

export function bearerAuth(token: string, realm: string, throttle: LoginThrottle): RequestHandler {
  return guard({ challenge: `Bearer realm="${realm}"`, isAuthorized: (req) => hasBearerToken(req, token), throttle });
}
