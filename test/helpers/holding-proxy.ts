// An HTTP proxy in front of a fake chat server that holds chosen requests open: before they reach the server (an
// upload in flight) or after the server answered (the platform took the upload, the worker not yet told).
import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  contentType: string;
  body: Buffer;
}

export type HoldMode = 'before-server' | 'after-server';

export interface Hold {
  /** Resolves once a matching request is being held. */
  readonly reached: Promise<ProxiedRequest>;
  /** Lets the held request go on (to the server, or its answer back to the client). */
  release(): void;
  /** Never lets it go on: the client (a killed worker) is gone; before-server, the server never sees it. */
  drop(): void;
}

interface PendingHold {
  match: (req: ProxiedRequest) => boolean;
  mode: HoldMode;
  reached: (req: ProxiedRequest) => void;
  released: Promise<'release' | 'drop'>;
}

export class HoldingProxy {
  private readonly server: Server;
  private readonly holds: PendingHold[] = [];
  private readonly target: URL;
  /** Requests seen, oldest first. */
  readonly seen: ProxiedRequest[] = [];

  constructor(targetOrigin: string) {
    this.target = new URL(targetOrigin);
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
  }

  /** Listens on loopback; returns this proxy's origin (http://127.0.0.1:port). */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Holds the next request matching `match` (once). */
  hold(match: (req: ProxiedRequest) => boolean, mode: HoldMode): Hold {
    let reached!: (req: ProxiedRequest) => void;
    let settle!: (how: 'release' | 'drop') => void;
    const reachedP = new Promise<ProxiedRequest>((resolve) => (reached = resolve));
    const released = new Promise<'release' | 'drop'>((resolve) => (settle = resolve));
    this.holds.push({ match, mode, reached, released });
    return { reached: reachedP, release: () => settle('release'), drop: () => settle('drop') };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', contentType: String(req.headers['content-type'] ?? ''), body: Buffer.concat(chunks) };
    this.seen.push(seen);
    const index = this.holds.findIndex((h) => h.match(seen));
    const hold = index >= 0 ? this.holds.splice(index, 1)[0] : undefined;
    if (hold?.mode === 'before-server') {
      hold.reached(seen);
      if ((await hold.released) === 'drop') return void res.destroy();
    }
    const answer = await this.forward(req, seen.body);
    if (hold?.mode === 'after-server') {
      hold.reached(seen);
      if ((await hold.released) === 'drop') return void res.destroy();
    }
    if (res.destroyed || req.socket.destroyed) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.target.host };
      const upstream = httpRequest({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const out: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && name !== 'transfer-encoding' && name !== 'connection') out[name] = value;
          out['content-length'] = String(Buffer.concat(parts).length);
          resolve({ status: answer.statusCode ?? 502, headers: out, body: Buffer.concat(parts) });
        });
        answer.on('error', reject);
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}
