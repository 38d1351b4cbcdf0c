/** Rate-limit bookkeeping and failure injection: X-RateLimit-* headers on every answer, real 429s, injected 429/5xx. */
import { createHash } from 'node:crypto';
import type { RateLimitFailure, RouteMatcher, ServerErrorFailure } from './types.ts';

export type Headers = Record<string, string>;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Headers;
}

/** Matches `"METHOD /a/:x/*"` templates, RegExps over `"METHOD /path"`, or predicates. */
export function routeMatches(matcher: RouteMatcher, method: string, path: string): boolean {
  if (typeof matcher === 'function') return matcher({ method, path });
  if (matcher instanceof RegExp) return matcher.test(`${method} ${path}`);
  const [first, second] = matcher.trim().split(/\s+/, 2);
  const [wantMethod, template] = second === undefined ? ['*', first ?? ''] : [first ?? '*', second];
  if (wantMethod !== '*' && wantMethod.toUpperCase() !== method) return false;
  const want = template.split('/');
  const got = path.split('/');
  if (want.at(-1) === '**') return got.length >= want.length - 1 && want.slice(0, -1).every((seg, i) => seg === '*' || seg.startsWith(':') || seg === got[i]);
  return want.length === got.length && want.every((seg, i) => seg === '*' || seg.startsWith(':') || seg === got[i]);
}

/** Bucket key as Discord scopes it: route template plus major parameter (channel, guild or webhook id+token). */
export function bucketKey(method: string, template: string, params: Record<string, string>): { key: string; hash: string } {
  const major = params.channel ?? params.guild ?? (params.app !== undefined && params.token !== undefined ? `${params.app}/${params.token}` : 'global');
  const route = `${method} ${template}`;
  return { key: `${route}:${major}`, hash: createHash('sha1').update(route).digest('hex').slice(0, 32) };
}

interface InjectedFailure {
  matcher: RouteMatcher;
  remaining: number;
  reply: (hash: string) => Reply;
  /** For a route 429: the bucket stays empty this long, so a client that ignores Retry-After is refused again. */
  holdMs?: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { remaining: number; resetAt: number }>();
  private readonly failures: InjectedFailure[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  failNext(matcher: RouteMatcher, opts: RateLimitFailure): void {
    const scope = opts.scope ?? (opts.global ? 'global' : 'user');
    this.failures.push({
      matcher,
      remaining: opts.times ?? 1,
      reply: (hash) => tooManyRequests(opts.retryAfter, opts.global === true, scope, this.limit, hash),
      ...(opts.global ? {} : { holdMs: opts.retryAfter * 1000 }),
    });
  }

  failNextWithServerError(matcher: RouteMatcher, opts: ServerErrorFailure): void {
    const status = opts.status ?? 500;
    const text: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
    this.failures.push({ matcher, remaining: opts.times ?? 1, reply: () => ({ status, body: { message: `${status}: ${text[status] ?? 'Error'}`, code: 0 } }) });
  }

  /** Consumes the first armed failure matching this request, if any; a route 429 empties the request's bucket. */
  takeInjected(method: string, path: string, key: string, hash: string, now: number): Reply | undefined {
    const failure = this.failures.find((f) => f.remaining > 0 && routeMatches(f.matcher, method, path));
    if (!failure) return undefined;
    failure.remaining -= 1;
    if (failure.holdMs !== undefined) this.buckets.set(key, { remaining: 0, resetAt: now + failure.holdMs });
    return failure.reply(hash);
  }

  /**
   * Counts the request against its bucket. Returns the headers to attach, or a real 429 when the
   * client ignored X-RateLimit-Remaining: 0 (which @discordjs/rest should never do).
   */
  consume(key: string, hash: string, now: number): { headers: Headers; limited?: Reply } {
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.resetAt <= now) {
      bucket = { remaining: this.limit, resetAt: now + this.windowMs };
      this.buckets.set(key, bucket);
    }
    const resetAfter = Math.max(0, bucket.resetAt - now) / 1000;
    if (bucket.remaining <= 0) return { headers: {}, limited: tooManyRequests(resetAfter, false, 'user', this.limit, hash) };
    bucket.remaining -= 1;
    return {
      headers: {
        'X-RateLimit-Limit': String(this.limit),
        'X-RateLimit-Remaining': String(bucket.remaining),
        'X-RateLimit-Reset': (bucket.resetAt / 1000).toFixed(3),
        'X-RateLimit-Reset-After': resetAfter.toFixed(3),
        'X-RateLimit-Bucket': hash,
      },
    };
  }
}

/**
 * A 429 as Discord sends it. Retry-After is passed through unrounded (Discord rounds up to whole
 * seconds) so tests can use sub-second waits; @discordjs/rest parses it with Number() either way.
 * X-RateLimit-Global is only present on global limits because the client tests presence, not value.
 */
function tooManyRequests(retryAfter: number, global: boolean, scope: string, limit: number, hash: string): Reply {
  const headers: Headers = { 'Retry-After': String(retryAfter), 'X-RateLimit-Scope': scope };
  if (global) {
    headers['X-RateLimit-Global'] = 'true';
  } else {
    Object.assign(headers, {
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': retryAfter.toFixed(3),
      'X-RateLimit-Bucket': hash,
    });
  }
  return { status: 429, headers, body: { message: 'You are being rate limited.', retry_after: retryAfter, global } };
}
