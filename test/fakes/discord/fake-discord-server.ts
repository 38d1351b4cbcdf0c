/** FakeDiscordServer: a loopback Discord (REST + gateway) that the real discord.js client logs into, with hooks for tests to act as users and inspect everything. */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayIntentBits, type APIAttachment, type APIMessage, type APIUser } from 'discord-api-types/v10';
import { FakeGateway } from './gateway.ts';
import { buttonInteraction, selectInteraction, slashCommandInteraction } from './interactions.ts';
import { RateLimiter } from './rate-limits.ts';
import { RestApi } from './rest.ts';
import { buildRoutes } from './rest-routes.ts';
import type {
  ButtonPressInput,
  SelectInput,
  FakeDiscordServerOptions,
  GatewayConnectionInfo,
  GatewayEvent,
  InteractionState,
  RateLimitFailure,
  RestCall,
  RouteMatcher,
  ServerErrorFailure,
  SlashCommandInput,
} from './types.ts';
import type { UserAttachmentInput } from './user-attachments.ts';
import { World, type InteractionRecord } from './world.ts';

export type { UserAttachmentInput } from './user-attachments.ts';

export type * from './types.ts';

const GATEWAY_PATH = '/gateway';

export interface FakeDiscordServerEvents {
  request: [RestCall];
  gateway: [GatewayEvent];
}

export class FakeDiscordServer extends EventEmitter<FakeDiscordServerEvents> {
  private readonly world: World;
  private readonly rest: RestApi;
  private readonly gateway: FakeGateway;
  private readonly http: Server;
  private readonly responseWindowMs: number;
  private readonly tokenLifetimeMs: number;
  private readonly appPermissions: string;
  private origin = '';

  constructor(options: FakeDiscordServerOptions = {}) {
    super();
    this.world = new World(options.botUsername ?? 'cogcast-fake-bot', options.attachmentSizeLimit ?? 10_485_760);
    this.responseWindowMs = options.interactionResponseWindowMs ?? 3_000;
    this.tokenLifetimeMs = options.interactionTokenLifetimeMs ?? 15 * 60_000;
    this.appPermissions = options.appPermissions ?? this.world.permissionsFor(this.world.botRoleIds());
    const limiter = new RateLimiter(options.rateLimit?.limit ?? 50, options.rateLimit?.windowMs ?? 1_000);
    const routes = buildRoutes(this.world, {
      gatewayUrl: () => `${this.origin.replace(/^http/, 'ws')}${GATEWAY_PATH}`,
      responseWindowMs: () => this.responseWindowMs,
      tokenLifetimeMs: () => this.tokenLifetimeMs,
      messageChanged: (message, change) => void this.mirrorMessage(message, change),
    });
    this.rest = new RestApi(this.world, routes, limiter, options.token, (call) => this.emit('request', call));
    this.gateway = new FakeGateway({
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      expectedToken: options.token,
      resumeUrl: () => `${this.origin.replace(/^http/, 'ws')}${GATEWAY_PATH}`,
      readyData: () => ({
        user: this.world.bot,
        guilds: [{ id: this.world.guildId, unavailable: true }],
        application: { id: this.world.applicationId, flags: 0 },
        private_channels: [],
        relationships: [],
        presences: [],
        guild_join_requests: [],
        geo_ordered_rtc_regions: [],
        user_settings: {},
      }),
      afterReady: () => [{ t: 'GUILD_CREATE', d: this.world.guildCreatePayload() }],
      newSessionId: () => this.world.snowflakes.next(),
      onEvent: (event) => this.emit('gateway', event),
    });
    this.http = createServer((req, res) => {
      this.rest.handle(req, res).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : undefined);
      });
    });
    this.http.on('upgrade', (req, socket, head) => {
      // Only the URL handed out by /gateway/bot works, which proves the client took it from there.
      if (new URL(req.url ?? '/', 'ws://fake').pathname !== GATEWAY_PATH) return socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      this.gateway.handleUpgrade(req, socket, head);
    });
  }

  /** Listens on an ephemeral loopback port; returns the value for discord.js `rest.api`. */
  async start(): Promise<{ api: string; gatewayUrl: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.http.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    this.world.store.baseUrl = this.origin;
    return { api: `${this.origin}/api`, gatewayUrl: `ws://127.0.0.1:${port}${GATEWAY_PATH}`, port };
  }

  /** Drops sockets and closes the port. Destroy the discord.js client first, or it will try to reconnect. */
  async stop(): Promise<void> {
    await this.gateway.closeAll();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- fixtures ---------------------------------------------------------------------------
  get bot(): APIUser {
    return structuredClone(this.world.bot);
  }
  get applicationId(): string {
    return this.world.applicationId;
  }
  get guildId(): string {
    return this.world.guildId;
  }
  get channelId(): string {
    return this.world.channelId;
  }
  /** Role ids by name: '@everyone', 'Member', 'Moderator' and the bot's managed role. */
  roleId(name: string): string {
    return this.world.roleId(name);
  }

  // ---- failure and time control -----------------------------------------------------------
  failNext(matcher: RouteMatcher, opts: RateLimitFailure): void {
    this.rest.limiter.failNext(matcher, opts);
  }
  failNextWithServerError(matcher: RouteMatcher, opts: ServerErrorFailure = {}): void {
    this.rest.limiter.failNextWithServerError(matcher, opts);
  }
  setAttachmentSizeLimit(bytes: number): void {
    this.world.attachmentSizeLimit = bytes;
  }
  /** Moves the fake's clock (interaction deadlines, timestamps) forward without waiting. */
  advanceTime(ms: number): void {
    this.world.clock.advance(ms);
  }
  now(): number {
    return this.world.clock.now();
  }
  /** Kills an interaction token now: callbacks answer 10062, webhook calls 401/50027. */
  expireToken(token: string): void {
    const rec = this.world.interactionByToken(token);
    if (!rec) throw new Error(`no interaction with token ${token}`);
    rec.tokenExpired = true;
  }

  // ---- acting as users ----------------------------------------------------------------------
  /** Dispatches INTERACTION_CREATE type 2 (APPLICATION_COMMAND, chat input) as if `user` ran the command. */
  async sendSlashCommand(input: SlashCommandInput): Promise<{ id: string; token: string }> {
    return this.deliver(slashCommandInteraction(this.world, input, this.appPermissions));
  }

  /** Dispatches INTERACTION_CREATE type 3 (MESSAGE_COMPONENT) for a button that must exist, enabled, on that message. */
  async pressButton(input: ButtonPressInput): Promise<{ id: string; token: string }> {
    return this.deliver(buttonInteraction(this.world, input, this.appPermissions));
  }

  /** A user picks `values` in a string select menu of a message (a /settings panel). */
  async select(input: SelectInput): Promise<{ id: string; token: string }> {
    return this.deliver(selectInteraction(this.world, input, this.appPermissions));
  }

  /**
   * A user picks a file in the client for a command's attachment option: Discord takes the upload first and the
   * interaction then names it by id. Pass the returned id as the option's value (type 11).
   */
  async userAttachment(input: UserAttachmentInput & { channelId?: string }): Promise<APIAttachment> {
    return this.world.userAttachments.add(input, this.origin, input.channelId ?? this.world.channelId);
  }

  /** Requests to the CDN route of user attachments, oldest first: the attachment id and the status answered. */
  get attachmentDownloads(): readonly { id: string; status: number; at: number }[] {
    return this.world.userAttachments.downloads;
  }

  private async deliver(rec: InteractionRecord): Promise<{ id: string; token: string }> {
    const delivered = await this.gateway.dispatch('INTERACTION_CREATE', rec.payload);
    if (delivered === 0) throw new Error('no identified gateway session to deliver INTERACTION_CREATE to; is the client logged in?');
    return { id: rec.id, token: rec.token };
  }

  /** Mirrors message changes onto the gateway for sessions with GUILD_MESSAGES, as Discord does. */
  private async mirrorMessage(message: APIMessage, change: 'create' | 'update' | 'delete'): Promise<void> {
    const guildId = this.world.channels.get(message.channel_id)?.guild_id;
    if (!guildId) return;
    const t = change === 'create' ? 'MESSAGE_CREATE' : change === 'update' ? 'MESSAGE_UPDATE' : 'MESSAGE_DELETE';
    const d = change === 'delete' ? { id: message.id, channel_id: message.channel_id, guild_id: guildId } : { ...message, guild_id: guildId, member: this.world.member(this.world.bot, this.world.botRoleIds()) };
    await this.gateway.dispatch(t, d, GatewayIntentBits.GuildMessages);
  }

  // ---- inspection ---------------------------------------------------------------------------
  /** Every REST call so far, oldest first (injected failures included). */
  get requests(): readonly RestCall[] {
    return this.rest.calls;
  }
  get gatewayConnections(): GatewayConnectionInfo[] {
    return this.gateway.connections.map((c) => structuredClone(c.info));
  }
  interaction(idOrToken: string): InteractionState | undefined {
    const rec = this.world.interactions.get(idOrToken) ?? this.world.interactionByToken(idOrToken);
    return rec ? this.world.snapshotInteraction(rec) : undefined;
  }
  interactions(): InteractionState[] {
    return [...this.world.interactions.values()].map((r) => this.world.snapshotInteraction(r));
  }
  message(id: string): APIMessage | undefined {
    const stored = this.world.store.get(id);
    return stored && !stored.deleted ? structuredClone(stored.message) : undefined;
  }
  /** Every version of one message, oldest first: what a user saw it say over time. */
  messageHistory(id: string): APIMessage[] {
    return structuredClone(this.world.store.get(id)?.versions ?? []);
  }
  /** Live messages (ephemeral included), optionally for one channel, oldest first. */
  messages(channelId?: string): APIMessage[] {
    return [...this.world.store.messages.values()].filter((s) => !s.deleted && (channelId === undefined || s.message.channel_id === channelId)).map((s) => structuredClone(s.message));
  }
  /** The exact bytes uploaded for an attachment id. */
  attachmentBytes(attachmentId: string): Buffer | undefined {
    const bytes = this.world.store.attachmentBytes.get(attachmentId);
    return bytes ? Buffer.from(bytes) : undefined;
  }
  commands(guildId?: string): unknown[] {
    return structuredClone(this.world.commands.get(guildId ?? 'global') ?? []);
  }

  /** Resolves with the first truthy value of `check`, re-evaluated on every REST call and gateway frame (and every 25 ms). */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        let value: T | undefined | null | false;
        try {
          value = check();
        } catch (error) {
          return finish(() => reject(error));
        }
        if (value) finish(() => resolve(value));
      };
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('request', attempt);
        this.off('gateway', attempt);
        settle();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`waitFor timed out after ${timeoutMs} ms`))), timeoutMs);
      const poll = setInterval(attempt, 25);
      this.on('request', attempt);
      this.on('gateway', attempt);
      attempt();
    });
  }

  /** Resolves with the first REST call (already made or future) matching `predicate`. */
  waitForRequest(predicate: (call: RestCall) => boolean, timeoutMs = 5_000): Promise<RestCall> {
    return this.waitFor(() => this.rest.calls.find(predicate), timeoutMs);
  }
}
