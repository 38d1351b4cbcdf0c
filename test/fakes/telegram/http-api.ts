/**
 * The HTTP face of the fake: routes /bot<token>/<method>, checks the
 * token and upload limit, applies injected faults, runs method handlers and writes Telegram's
 * JSON envelopes; also executes method calls that come back inside webhook responses.
 */

import type http from 'node:http';
import { ApiError, entityTooLarge, notFound, tooManyRequests, unauthorized } from './errors.ts';
import { WithDescription, type MethodHandler } from './methods.ts';
import { Params, parseRequest, readBody, type ParsedRequest } from './request-body.ts';
import type { ApiCallRecord, Fault, TgResponse } from './types.ts';
import type { WebhookReply } from './webhook-sender.ts';
import type { World } from './world.ts';

export interface HttpApiDeps {
  token: string;
  uploadLimitBytes: () => number;
  methods: Map<string, { name: string; handler: MethodHandler }>;
  world: World;
  record: (method: string, parsed: ParsedRequest, via: ApiCallRecord['via'], status: number, response: TgResponse) => void;
}

/** Status 0 in the call log means no HTTP answer was given (client hung up, or a networkError fault). */
const noAnswer = (description: string): TgResponse => ({ ok: false, error_code: 0, description });

export class HttpApi {
  private readonly faults = new Map<string, { fault: Fault; remaining: number }[]>();
  /** Flood control as Telegram applies it: after a 429 for a chat, every call for that chat is refused until then. */
  private readonly floodUntil = new Map<string, number>();
  /** Every request to the file download route: the file_path asked for (never the token) and the status answered. */
  readonly downloads: { path: string; status: number; at: number }[] = [];

  constructor(private readonly deps: HttpApiDeps) {}

  addFault(method: string, fault: Fault, times: number): void {
    const key = method.toLowerCase();
    const list = this.faults.get(key) ?? [];
    list.push({ fault, remaining: times });
    this.faults.set(key, list);
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { deps } = this;
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/file/')) return this.download(req, url, res);
    // /bot<token>/<method>, or /bot<token>/test/<method> for telegraf's testEnv.
    const route = /^\/bot([^/]+)\/(?:test\/)?([^/]+?)\/?$/.exec(url.pathname);
    const urlMethod = route !== null ? decodeURIComponent(route[2]!) : url.pathname;
    const methodName = deps.methods.get(urlMethod.toLowerCase())?.name ?? urlMethod;
    const raw = await readBody(req, deps.uploadLimitBytes());
    let parsed: ParsedRequest = { params: {}, files: new Map() };
    const send = (status: number, response: TgResponse, statusText?: string) => {
      deps.record(methodName, parsed, 'http', status, response);
      const body = JSON.stringify(response);
      res.writeHead(status, statusText, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };

    if (route === null) return send(404, notFound().toResponse());
    if (decodeURIComponent(route[1]!) !== deps.token) return send(401, unauthorized().toResponse());
    if (raw.tooLarge) return send(413, entityTooLarge().toResponse());
    try {
      parsed = await parseRequest(req.headers['content-type'], raw.body, url.searchParams);
    } catch (error) {
      if (error instanceof ApiError) return send(error.errorCode, error.toResponse());
      throw error;
    }
    const entry = deps.methods.get(urlMethod.toLowerCase());
    // Methods this fake does not implement answer like unknown ones: loudly.
    if (entry === undefined) return send(404, notFound().toResponse());

    const chat = chatOf(parsed.params);
    const waitS = chat === undefined ? 0 : Math.ceil(((this.floodUntil.get(chat) ?? 0) - Date.now()) / 1000);
    if (waitS > 0) {
      const flood = tooManyRequests(waitS) as Extract<Fault, { error_code: number }>;
      return send(429, { ok: false, error_code: 429, description: flood.description, parameters: flood.parameters! });
    }

    const fault = this.takeFault(entry.name);
    if (fault !== undefined && 'error_code' in fault && fault.error_code === 429 && chat !== undefined) {
      this.floodUntil.set(chat, Date.now() + (fault.parameters?.retry_after ?? 0) * 1000);
    }
    if (fault !== undefined) {
      if ('networkError' in fault) {
        deps.record(entry.name, parsed, 'http', 0, noAnswer('connection dropped by failNext'));
        req.socket.destroy();
        return;
      }
      const response: TgResponse = { ok: false, error_code: fault.error_code, description: fault.description };
      if (fault.parameters !== undefined) response.parameters = fault.parameters;
      // For 5xx telegraf reports the HTTP status text, so carry the description there too.
      return send(fault.error_code, response, fault.error_code >= 500 ? fault.description : undefined);
    }

    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) controller.abort();
    });
    const outcome = await runMethod(entry.handler, new Params(parsed.params, parsed.files), controller.signal);
    if (controller.signal.aborted) {
      // The client hung up (telegraf's bot.stop() aborts its held getUpdates): nothing to answer.
      deps.record(entry.name, parsed, 'http', 0, noAnswer('client disconnected'));
      return;
    }
    send(outcome.status, outcome.response);
  }

  /** A method call the bot wrote into its webhook response (telegraf's webhookReply); Telegram executes it. */
  async executeWebhookReply(reply: WebhookReply): Promise<void> {
    let parsed: ParsedRequest;
    try {
      parsed = await parseRequest(reply.contentType, reply.body, new URLSearchParams());
    } catch {
      // Telegram ignores response bodies it cannot read.
      return;
    }
    const method = parsed.params.method;
    if (typeof method !== 'string') return;
    delete parsed.params.method;
    const entry = this.deps.methods.get(method.toLowerCase());
    if (entry === undefined) {
      this.deps.record(method, parsed, 'webhook-reply', 404, notFound().toResponse());
      return;
    }
    const outcome = await runMethod(entry.handler, new Params(parsed.params, parsed.files), new AbortController().signal);
    this.deps.record(entry.name, parsed, 'webhook-reply', outcome.status, outcome.response);
  }

  /**
   * GET /file/bot<token>/<file_path>: the bytes of a file getFile named (outside the method routes: no JSON envelope
   * on success, no faults or flood control). A wrong token is 401, an unknown path 404, each with the API's envelope.
   */
  private async download(req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
    req.resume();
    const route = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    const answer = (status: number, response: TgResponse) => {
      this.downloads.push({ path: route?.[2] ?? url.pathname, status, at: Date.now() });
      const body = JSON.stringify(response);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (route === null || (req.method ?? 'GET') !== 'GET') return answer(404, notFound().toResponse());
    if (decodeURIComponent(route[1]!) !== this.deps.token) return answer(401, unauthorized().toResponse());
    const file = this.deps.world.fileAtPath(decodeURIComponent(route[2]!));
    if (file === undefined) return answer(404, notFound().toResponse());
    this.downloads.push({ path: route[2]!, status: 200, at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
    res.end(file.bytes);
  }

  private takeFault(method: string): Fault | undefined {
    for (const key of [method.toLowerCase(), '*']) {
      const list = this.faults.get(key);
      const head = list?.[0];
      if (list === undefined || head === undefined) continue;
      head.remaining--;
      if (head.remaining <= 0) list.shift();
      return head.fault;
    }
    return undefined;
  }
}

/** The chat a call acts on, as a key ("-100123", "@channel"); undefined for calls about no chat (getMe...). */
function chatOf(params: Record<string, unknown>): string | undefined {
  const id = params.chat_id;
  return typeof id === 'number' || (typeof id === 'string' && id !== '') ? String(id) : undefined;
}

async function runMethod(handler: MethodHandler, params: Params, signal: AbortSignal): Promise<{ status: number; response: TgResponse }> {
  try {
    const result = await handler({ params, signal });
    if (result instanceof WithDescription) {
      return { status: 200, response: { ok: true, result: result.result, description: result.description } };
    }
    return { status: 200, response: { ok: true, result } };
  } catch (error) {
    if (error instanceof ApiError) return { status: error.errorCode, response: error.toResponse() };
    if (signal.aborted) return { status: 0, response: noAnswer('client disconnected') };
    throw error;
  }
}
