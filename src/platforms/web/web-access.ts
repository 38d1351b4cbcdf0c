// Who may open the web page: anyone on this machine by default; beyond loopback only with WEB_TOKEN or
// WEB_USER + WEB_PASSWORD, which the gate checks on every request (constant-time comparisons).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseBasicAuth } from 'basic-auth';
import type { NextFunction, Request, Response } from 'express';
import type { Env } from '../../../config/env.ts';
import { text } from '../../core/texts.ts';
import { readCookie } from './web-identity.ts';

/** The web settings cannot be served safely; the message is one line naming the variables. */
export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

type WebSettings = Pick<Env, 'WEB_HOST' | 'WEB_PORT' | 'WEB_TOKEN' | 'WEB_USER' | 'WEB_PASSWORD' | 'TELEGRAM_WEBHOOK_URL' | 'TELEGRAM_WEBHOOK_PORT'>;

export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Throws WebConfigError when the page would be open beyond this machine without a login, or half configured. */
export function checkWebSettings(config: WebSettings): void {
  if (config.WEB_PORT === 0) return;
  if (Boolean(config.WEB_USER) !== Boolean(config.WEB_PASSWORD)) {
    throw new WebConfigError(`${config.WEB_USER ? 'WEB_USER is set but WEB_PASSWORD is not' : 'WEB_PASSWORD is set but WEB_USER is not'}: set both for the web page's login, or neither.`);
  }
  if (!isLoopback(config.WEB_HOST) && !config.WEB_TOKEN && !config.WEB_USER) {
    throw new WebConfigError(
      `WEB_HOST=${config.WEB_HOST} would open the web page beyond this machine to anyone: set WEB_TOKEN, or WEB_USER and WEB_PASSWORD, or keep WEB_HOST=127.0.0.1 (WEB_PORT=0 turns the page off).`,
    );
  }
  if (config.TELEGRAM_WEBHOOK_URL && config.TELEGRAM_WEBHOOK_PORT === config.WEB_PORT) {
    throw new WebConfigError(`WEB_PORT and TELEGRAM_WEBHOOK_PORT are both ${config.WEB_PORT}: give the web page another port (WEB_PORT) or turn it off (WEB_PORT=0).`);
  }
}

const ACCESS_COOKIE = 'cogcast_access';
const digest = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** Express middleware enforcing WEB_TOKEN and/or basic auth; a no-op when neither is set. */
export function accessGate(config: WebSettings) {
  const token = config.WEB_TOKEN;
  const login = config.WEB_USER && config.WEB_PASSWORD ? { user: config.WEB_USER, password: config.WEB_PASSWORD } : null;
  // What the access cookie holds: proof of the token, not the token itself.
  const proof = token ? createHmac('sha256', token).update('cogcast web access').digest('base64url') : '';
  return (req: Request, res: Response, next: NextFunction): void => {
    if (login) {
      const given = parseBasicAuth(req.headers.authorization ?? '');
      // Both compared, always: the time taken says nothing about which one was wrong.
      const userOk = same(given?.name ?? '', login.user);
      const passwordOk = same(given?.pass ?? '', login.password);
      if (!given || !userOk || !passwordOk) {
        res.status(401).set('www-authenticate', 'Basic realm="cogcast", charset="UTF-8"').type('text/plain').send(`${text('web.sign_in')}\n`);
        return;
      }
    }
    if (token) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      const query = typeof req.query.token === 'string' ? req.query.token : undefined;
      const cookie = readCookie(req, ACCESS_COOKIE);
      if (query !== undefined && same(query, token)) {
        // Trade the token in the address bar for a cookie, and drop it from the URL (history, referrers).
        res.cookie(ACCESS_COOKIE, proof, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: 365 * 24 * 3600 * 1000 });
        res.redirect(303, req.path);
        return;
      }
      const ok = (bearer !== undefined && same(bearer, token)) || (cookie !== undefined && same(cookie, proof));
      if (!ok) {
        res.status(401).type('text/plain').send(`${text('web.sign_in')}\n`);
        return;
      }
    }
    next();
  };
}
