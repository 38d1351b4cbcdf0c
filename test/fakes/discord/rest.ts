/** HTTP front of the fake REST API: body parsing, injected failures, auth, size limit, rate-limit headers, routing and call recording. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMultipart, parseMultipart, readBody } from '../multipart.ts';
import { bucketKey, RateLimiter, type Reply } from './rate-limits.ts';
import { findRoute, type RequestContext, type Route } from './rest-routes.ts';
import type { RestCall, UploadedFile } from './types.ts';
import { ApiError, Errors } from './errors.ts';
import type { World } from './world.ts';

export class RestApi {
  readonly calls: RestCall[] = [];

  constructor(
    private readonly world: World,
    private readonly routes: Route[],
    readonly limiter: RateLimiter,
    private readonly expectedToken: string | undefined,
    private readonly onCall: (call: RestCall) => void,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = (await readBody(req)).body;
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname.startsWith('/attachments/')) return this.serveAttachment(url.pathname, res);
    if (this.world.userAttachments.serve(url.pathname, url.searchParams, res)) return;
    // Discord serves v9 and v10 side by side; anything else is not an API path here.
    const versioned = /^\/api\/v(9|10)(\/.*)$/.exec(url.pathname);
    // Clients percent-encode segments (discord.js sends `%40original`); record and match the decoded form.
    const path = (versioned?.[2] ?? url.pathname).split('/').map(safeDecode).join('/');
    const call: RestCall = { method, path, query: Object.fromEntries(url.searchParams), headers: req.headers, body: undefined, files: [], status: 0, response: undefined, at: this.world.clock.now() };
    let reply: Reply;
    try {
      const parsed = await parseBody(raw, req.headers['content-type']);
      call.body = parsed.json;
      call.files = parsed.files;
      reply = versioned ? this.route(method, path, url.searchParams, req.headers.authorization, parsed) : errorReply(Errors.notFound());
    } catch (error) {
      reply = errorReply(error);
    }
    call.status = reply.status;
    call.response = reply.body;
    this.calls.push(call);
    res.writeHead(reply.status, { ...(reply.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...reply.headers });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    this.onCall(call);
  }

  private route(method: string, path: string, query: URLSearchParams, authorization: string | undefined, parsed: ParsedBody): Reply {
    const { route, params, methodMismatch } = findRoute(this.routes, method, path);
    const { key, hash } = bucketKey(method, route?.template ?? path, params);
    // Injected failures come first so a test can fail any request, even one that would 404.
    const injected = this.limiter.takeInjected(method, path, key, hash, Date.now());
    if (injected) return injected;
    if (!route) return errorReply(methodMismatch ? Errors.methodNotAllowed() : Errors.notFound());
    if (route.auth) {
      const token = /^Bot (.+)$/.exec(authorization ?? '')?.[1];
      if (!token || (this.expectedToken !== undefined && token !== this.expectedToken)) return errorReply(Errors.unauthorized());
    }
    if (parsed.files.reduce((sum, f) => sum + f.data.length, 0) > this.world.attachmentSizeLimit) return errorReply(Errors.tooLarge());
    // Interaction callbacks are not rate limited per bucket (@discordjs/rest sends them through its burst handler).
    const burst = route.template === '/interactions/:id/:token/callback';
    const bucket = burst ? { headers: {} } : this.limiter.consume(key, hash, Date.now());
    if (bucket.limited) return bucket.limited;
    const ctx: RequestContext = { method, path, params, query, body: isObject(parsed.json) ? parsed.json : {}, json: parsed.json, files: parsed.files };
    try {
      const reply = route.handle(ctx);
      return { ...reply, headers: { ...bucket.headers, ...reply.headers } };
    } catch (error) {
      const reply = errorReply(error);
      return { ...reply, headers: { ...bucket.headers, ...reply.headers } };
    }
  }

  private serveAttachment(pathname: string, res: ServerResponse): void {
    const id = pathname.split('/')[3] ?? '';
    const bytes = this.world.store.attachmentBytes.get(id);
    res.writeHead(bytes ? 200 : 404, { 'Content-Type': 'application/octet-stream' });
    res.end(bytes ?? 'Not Found');
  }
}

interface ParsedBody {
  json: unknown;
  files: UploadedFile[];
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [] };
  if (isMultipart(contentType)) {
    const parts = await parseMultipart(raw, contentType!).catch(() => {
      throw Errors.invalidForm({});
    });
    const payload = parts.find((p) => p.name === 'payload_json');
    // Discord takes file parts by field name (files[n]); any part with a filename counts as an upload.
    const files = parts.filter((p) => p.filename !== undefined).map((p) => ({ field: p.name, filename: p.filename ?? 'file', contentType: p.contentType, data: p.data }));
    return { json: payload ? parseJson(payload.data.toString('utf8')) : undefined, files };
  }
  return { json: parseJson(raw.toString('utf8')), files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw Errors.invalidJson();
  }
}

function errorReply(error: unknown): Reply {
  if (error instanceof ApiError) return { status: error.status, body: error.toBody() };
  // A bug in the fake should be loud in the test, not look like a Discord answer.
  console.error('[fake-discord] handler crashed', error);
  return { status: 500, body: { message: `fake-discord crashed: ${String(error)}`, code: 0 } };
}
