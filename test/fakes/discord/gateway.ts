/** The fake gateway WebSocket: HELLO, IDENTIFY→READY+GUILD_CREATE, heartbeats, RESUME with replay, dispatches, Discord close codes. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { GatewayConnectionInfo, GatewayEvent } from './types.ts';

export interface GatewayOptions {
  heartbeatIntervalMs: number;
  expectedToken: string | undefined;
  resumeUrl(): string;
  /** READY's `d`, minus the session fields the gateway fills in. */
  readyData(): Record<string, unknown>;
  /** Dispatches Discord sends right after READY (GUILD_CREATE for each guild listed as unavailable). */
  afterReady(): { t: string; d: unknown }[];
  newSessionId(): string;
  onEvent(event: GatewayEvent): void;
}

interface Session {
  id: string;
  token: string;
  intents: number;
  seq: number;
  /** Sent dispatches, kept so RESUME can replay what a dropped connection missed. */
  log: { s: number; t: string; d: unknown }[];
  connection: Connection | null;
}

interface Connection {
  id: number;
  ws: WebSocket;
  info: GatewayConnectionInfo;
  session: Session | null;
  zlibStream: ZlibStream | null;
  identifyCompress: boolean;
  /** Serialises sends so compressed frames keep their order. */
  queue: Promise<void>;
}

const CLOSE = {
  unknownOpcode: [4001, 'Unknown opcode.'],
  decodeError: [4002, 'Error while decoding payload.'],
  notAuthenticated: [4003, 'Not authenticated.'],
  authenticationFailed: [4004, 'Authentication failed.'],
  alreadyAuthenticated: [4005, 'Already authenticated.'],
  invalidShard: [4010, 'Invalid shard.'],
  invalidApiVersion: [4012, 'Invalid API version.'],
} as const;

export class FakeGateway {
  readonly connections: Connection[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private nextConnectionId = 1;

  constructor(private readonly opts: GatewayOptions) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req.url ?? '/'));
  }

  private onConnection(ws: WebSocket, url: string): void {
    const query = Object.fromEntries(new URL(url, 'ws://fake').searchParams);
    const conn: Connection = {
      id: this.nextConnectionId++,
      ws,
      info: { connectionId: 0, url, query, identify: null, sessionId: null, open: true },
      session: null,
      zlibStream: null,
      identifyCompress: false,
      queue: Promise.resolve(),
    };
    conn.info.connectionId = conn.id;
    this.connections.push(conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('close', () => {
      conn.info.open = false;
      if (conn.session?.connection === conn) conn.session.connection = null;
    });
    if (query.v !== '10' && query.v !== '9') return this.close(conn, CLOSE.invalidApiVersion);
    // Only JSON is spoken here; @discordjs/ws asks for json and sends no `compress` unless zlib-sync is installed.
    if ((query.encoding ?? 'json') !== 'json') return this.close(conn, CLOSE.decodeError);
    if (query.compress !== undefined) {
      if (query.compress !== 'zlib-stream') return this.close(conn, CLOSE.decodeError);
      conn.zlibStream = new ZlibStream();
    }
    void this.send(conn, { op: 10, d: { heartbeat_interval: this.opts.heartbeatIntervalMs }, s: null, t: null });
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      if (isBinary) throw new Error('clients send text frames');
      payload = JSON.parse(rawToBuffer(data).toString('utf8')) as { op?: unknown; d?: unknown };
    } catch {
      return this.close(conn, CLOSE.decodeError);
    }
    const op = Number(payload.op);
    const d = (payload.d ?? null) as Record<string, unknown> | null;
    this.opts.onEvent({ direction: 'in', op, t: null, d, connectionId: conn.id });
    // Heartbeats are allowed before IDENTIFY; everything else but IDENTIFY/RESUME needs a session.
    if (op === 1) return void this.send(conn, { op: 11, d: null, s: null, t: null });
    if (op === 2) return this.identify(conn, d ?? {});
    if (op === 6) return this.resume(conn, d ?? {});
    if (![3, 4, 8, 31].includes(op)) return this.close(conn, CLOSE.unknownOpcode);
    if (!conn.session) return this.close(conn, CLOSE.notAuthenticated);
    // Presence, voice state, member and soundboard requests are accepted and ignored.
  }

  private identify(conn: Connection, d: Record<string, unknown>): void {
    if (conn.session) return this.close(conn, CLOSE.alreadyAuthenticated);
    const token = String(d.token ?? '').replace(/^Bot\s+/i, '');
    if (!token || (this.opts.expectedToken !== undefined && token !== this.opts.expectedToken)) return this.close(conn, CLOSE.authenticationFailed);
    const shard = d.shard;
    if (shard !== undefined && (!Array.isArray(shard) || Number(shard[0]) >= Number(shard[1]))) return this.close(conn, CLOSE.invalidShard);
    conn.info.identify = structuredClone(d);
    conn.identifyCompress = d.compress === true && !conn.zlibStream;
    const session: Session = { id: this.opts.newSessionId(), token, intents: Number(d.intents ?? 0), seq: 0, log: [], connection: conn };
    this.sessions.set(session.id, session);
    conn.session = session;
    conn.info.sessionId = session.id;
    this.sendDispatch(session, 'READY', {
      v: 10,
      ...this.opts.readyData(),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.opts.resumeUrl(),
      shard: Array.isArray(shard) ? shard : [0, 1],
    });
    for (const { t, d: data } of this.opts.afterReady()) this.sendDispatch(session, t, data);
  }

  private resume(conn: Connection, d: Record<string, unknown>): void {
    const session = this.sessions.get(String(d.session_id));
    const token = String(d.token ?? '').replace(/^Bot\s+/i, '');
    if (!session || session.token !== token) {
      // op 9 with d=false: the client must start over with IDENTIFY.
      return void this.send(conn, { op: 9, d: false, s: null, t: null });
    }
    session.connection = conn;
    conn.session = session;
    conn.info.sessionId = session.id;
    const since = Number(d.seq ?? 0);
    for (const entry of session.log) if (entry.s > since) void this.send(conn, { op: 0, ...entry });
    this.sendDispatch(session, 'RESUMED', null);
  }

  /** Sends a dispatch to every live session (optionally only those that asked for `intent`); returns how many got it. */
  async dispatch(t: string, d: unknown, intent?: number): Promise<number> {
    const targets = [...this.sessions.values()].filter((s) => s.connection?.info.open && (intent === undefined || (s.intents & intent) !== 0));
    await Promise.all(targets.map((s) => this.sendDispatch(s, t, d)));
    return targets.length;
  }

  private sendDispatch(session: Session, t: string, d: unknown): Promise<void> {
    session.seq += 1;
    const entry = { s: session.seq, t, d };
    session.log.push(entry);
    if (session.log.length > 500) session.log.shift();
    return session.connection ? this.send(session.connection, { op: 0, ...entry }) : Promise.resolve();
  }

  private send(conn: Connection, payload: { op: number; d: unknown; s: number | null; t: string | null }): Promise<void> {
    this.opts.onEvent({ direction: 'out', op: payload.op, t: payload.t, d: payload.d, connectionId: conn.id });
    const text = JSON.stringify(payload);
    conn.queue = conn.queue.then(async () => {
      if (conn.ws.readyState !== conn.ws.OPEN) return;
      let frame: string | Buffer = text;
      // zlib-stream: one shared deflate context, each message ends with a Z_SYNC_FLUSH (00 00 ff ff).
      if (conn.zlibStream) frame = await conn.zlibStream.compress(text);
      // Identify compress: each payload after IDENTIFY is its own zlib blob.
      else if (conn.identifyCompress && payload.op === 0) frame = zlib.deflateSync(text);
      await new Promise<void>((resolve) => conn.ws.send(frame, () => resolve()));
    });
    return conn.queue;
  }

  private close(conn: Connection, [code, reason]: readonly [number, string]): void {
    conn.ws.close(code, reason);
  }

  /** Drops every connection without a close frame, like a network failure; used by stop(). */
  async closeAll(): Promise<void> {
    for (const conn of this.connections) conn.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A persistent deflate context flushed per message, which is what Discord's zlib-stream transport is. */
class ZlibStream {
  private readonly deflate = zlib.createDeflate();
  private pending: Buffer[] = [];
  private waiting: ((frame: Buffer) => void) | null = null;

  constructor() {
    this.deflate.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      const all = Buffer.concat(this.pending);
      // Output for one message is complete once the sync-flush marker arrives.
      if (this.waiting && all.length >= 4 && all.readUInt32BE(all.length - 4) === 0x0000ffff) {
        this.pending = [];
        const resolve = this.waiting;
        this.waiting = null;
        resolve(all);
      }
    });
  }

  compress(text: string): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deflate.write(text);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    });
  }
}
