/**
 * FakeTelegramServer: a loopback Bot API server that the real telegraf client talks to over HTTP
 * (apiRoot), with real long polling, multipart uploads, webhooks, and hooks for tests to play the
 * users, inspect chats, await calls and inject faults.
 */

import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { formatText } from './formatting.ts';
import { HttpApi } from './http-api.ts';
import { createMethods } from './methods.ts';
import type { ParsedRequest } from './request-body.ts';
import type {
  ApiCallRecord,
  CallbackAnswer,
  Fault,
  MessageEdit,
  StoredFile,
  StoredMessage,
  TgBotCommand,
  TgCallbackQuery,
  TgChat,
  TgDocument,
  TgMessage,
  TgPhotoSize,
  TgResponse,
  TgUpdate,
  TgUser,
  UpdateKind,
  WebhookDelivery,
} from './types.ts';
import { UpdateQueue } from './update-queue.ts';
import { WaitSet } from './waiters.ts';
import { WebhookSender } from './webhook-sender.ts';
import { groupChat, mimeTypeFor, privateChatFor, unixNow, World } from './world.ts';

export * from './types.ts';
export { serverError, tooManyRequests } from './errors.ts';
export { parseMarkup, tryParseMarkup } from './formatting.ts';

export interface FakeTelegramServerOptions {
  /** Default '123456789:AAFakeTokenForTests'; the bot's user id is the part before ':'. */
  token?: string;
  botUsername?: string;
  botFirstName?: string;
  /** Privacy mode off. Default false: in groups the bot only sees commands, mentions and replies to it. */
  canReadAllGroupMessages?: boolean;
  /** Request bodies above this get 413 Request Entity Too Large. Default 50 MB (the Bot API upload limit). */
  uploadLimitBytes?: number;
  /** getFile refuses files above this with "file is too big". Default 20 MB. */
  downloadLimitBytes?: number;
  /** Accept http:// webhook URLs (Telegram only accepts https). Default false. */
  allowHttpWebhooks?: boolean;
  /** First retry delay after a failed webhook delivery (doubles up to 5 s). Default 200 ms. */
  webhookRetryDelayMs?: number;
  webhookTimeoutMs?: number;
  firstUpdateId?: number;
  /** Default timeout for waitFor* helpers. Default 5000 ms. */
  waitTimeoutMs?: number;
}

export interface UserInput {
  id: number;
  username?: string;
  first_name?: string;
  last_name?: string;
  language_code?: string;
  is_bot?: boolean;
}

/** Who writes, and where. */
export interface UserChatInput {
  from: UserInput;
  /** Default 'private' (chat id = user id). */
  chatType?: 'private' | 'group' | 'supergroup';
  /** Required for groups (negative, like Telegram's); optional for private chats. */
  chatId?: number;
  chatTitle?: string;
  replyToMessageId?: number;
  /** Sent on behalf of a chat (an anonymous admin: the group; a channel): Telegram's sender_chat. */
  senderChat?: TgChat;
}

export interface UserMessageInput extends UserChatInput {
  text: string;
}

/** A photo or a document, with an optional caption (a command in it is a bot_command entity, as in a text). */
export interface UserMediaInput extends UserChatInput {
  caption?: string;
}

export interface PressButtonInput {
  chatId: number;
  messageId: number;
  from: UserInput;
  /** Pick the button by callback_data... */
  data?: string;
  /** ...or by its label. */
  text?: string;
  /** Send the callback even if no such button is on the message now (a stale keyboard on the user's screen). */
  force?: boolean;
}

export interface FakeTelegramEvents {
  /** Every answered API call (HTTP or webhook reply), including failed and faulted ones. */
  call: [ApiCallRecord];
  /** A message the bot sent (user messages come from the test itself). */
  message: [StoredMessage];
  edit: [StoredMessage, MessageEdit];
  /** An update was queued for the bot. */
  update: [TgUpdate];
  webhook: [WebhookDelivery];
}

const DEFAULT_TOKEN = '123456789:AAFakeTokenForTests';
const MB = 1024 * 1024;

export class FakeTelegramServer extends EventEmitter<FakeTelegramEvents> {
  readonly token: string;
  /** What getMe returns. */
  readonly botInfo: TgUser;
  /** Mutable: tests may lower it to exercise the 413 path without 50 MB of data. */
  uploadLimitBytes: number;
  readonly webhookDeliveries: WebhookDelivery[] = [];

  private readonly options: FakeTelegramServerOptions;
  private readonly world: World;
  private readonly queue: UpdateQueue;
  private readonly webhook: WebhookSender;
  private readonly httpApi: HttpApi;
  private readonly callLog: ApiCallRecord[] = [];
  private readonly waiters = new WaitSet();
  private server: http.Server | undefined;
  private root: string | undefined;
  private stopped = false;

  constructor(options: FakeTelegramServerOptions = {}) {
    super();
    this.options = options;
    this.token = options.token ?? DEFAULT_TOKEN;
    const botId = Number(this.token.split(':')[0]);
    if (!Number.isSafeInteger(botId)) throw new Error('token must look like "<bot id>:<secret>"');
    this.botInfo = {
      id: botId,
      is_bot: true,
      first_name: options.botFirstName ?? 'Fake Bot',
      username: options.botUsername ?? 'fakebot',
      can_join_groups: true,
      can_read_all_group_messages: options.canReadAllGroupMessages ?? false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
    this.uploadLimitBytes = options.uploadLimitBytes ?? 50 * MB;
    this.world = new World(this.botInfo, {
      message: (stored) => this.notify('message', stored),
      edit: (stored, edit) => this.notify('edit', stored, edit),
    });
    this.queue = new UpdateQueue(options.firstUpdateId ?? 1);
    this.queue.onChange(() => this.waiters.check());
    this.webhook = new WebhookSender(this.queue, {
      retryDelayMs: options.webhookRetryDelayMs ?? 200,
      timeoutMs: options.webhookTimeoutMs ?? 10_000,
      onReply: (reply) => this.httpApi.executeWebhookReply(reply),
      onDelivery: (delivery) => {
        this.webhookDeliveries.push(delivery);
        this.notify('webhook', delivery);
      },
    });
    this.httpApi = new HttpApi({
      token: this.token,
      uploadLimitBytes: () => this.uploadLimitBytes,
      world: this.world,
      methods: createMethods({
        world: this.world,
        queue: this.queue,
        webhook: this.webhook,
        getMe: this.botInfo,
        downloadLimitBytes: options.downloadLimitBytes ?? 20 * MB,
        allowHttpWebhooks: options.allowHttpWebhooks ?? false,
      }),
      record: (method, parsed, via, status, response) => this.record(method, parsed, via, status, response),
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /** Listens on 127.0.0.1 with an ephemeral port; pass apiRoot to telegraf's `telegram.apiRoot`. */
  async start(): Promise<{ apiRoot: string }> {
    if (this.server !== undefined || this.stopped) throw new Error('FakeTelegramServer already started (instances are single use)');
    const server = http.createServer((req, res) => {
      this.httpApi.handle(req, res).catch((error: unknown) => {
        // A bug in the fake itself: surface it loudly to the client rather than hanging the request.
        if (!res.headersSent) res.writeHead(500, 'Internal Server Error', { 'content-type': 'text/plain' });
        res.end(String((error as Error)?.stack ?? error));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { apiRoot: this.root };
  }

  get apiRoot(): string {
    if (this.root === undefined) throw new Error('FakeTelegramServer not started');
    return this.root;
  }

  /** Closes every connection (held long polls included) and rejects pending waitFor* calls. Single use: no restart. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.stopped = true;
    this.webhook.stop();
    this.queue.cancel();
    this.waiters.failAll(new Error('FakeTelegramServer stopped'));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Playing the users

  /** A user writes in a chat: stores the message and, unless privacy mode hides it, queues a `message` update. */
  sendUserMessage(input: UserMessageInput): TgMessage {
    const formatted = formatText(input.text, undefined);
    if (formatted.text === '') throw new Error('a user message needs non-blank text');
    return this.addUserMessage(input, { text: formatted.text, ...(formatted.entities.length > 0 ? { entities: formatted.entities } : {}) }, { text: formatted.text });
  }

  /**
   * A user sends a photo (from their gallery, compressed): Telegram re-encodes it as JPEG in several sizes, smallest
   * first, each its own file_id; the caption's commands are entities as in a text. `bytes` must be a picture.
   */
  async sendUserPhoto(input: UserMediaInput & { bytes: Buffer }): Promise<TgMessage> {
    const meta = await sharp(input.bytes).metadata().catch(() => null);
    if (!meta?.width || !meta.height) throw new Error('sendUserPhoto: the bytes are not a picture Telegram\'s clients would send as a photo');
    const sizes: TgPhotoSize[] = [];
    // Telegram's boxes: s 90, m 320, x 800, y 1280 (none larger than the original, the largest always present).
    const boxes = [90, 320, 800, 1280];
    const largestSide = Math.max(meta.width, meta.height);
    for (const box of boxes.filter((b, i) => b < largestSide || i === 0 || boxes[i - 1]! < largestSide)) {
      const { data, info } = await sharp(input.bytes).rotate().resize(box, box, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 87 }).toBuffer({ resolveWithObject: true });
      const file = this.world.storeFile('photo', data, { mimeType: 'image/jpeg', photo: { width: info.width, height: info.height } });
      sizes.push({ file_id: file.fileId, file_unique_id: file.fileUniqueId, width: info.width, height: info.height, file_size: data.length });
    }
    return this.addUserMessage(input, { photo: sizes, ...this.caption(input.caption) }, { ...(input.caption !== undefined ? { caption: input.caption } : {}) });
  }

  /** A user sends a file as a document (uncompressed): stored as is, its MIME type named from the file name. */
  sendUserDocument(input: UserMediaInput & { bytes: Buffer; filename: string; mimeType?: string }): TgMessage {
    if (input.bytes.length === 0) throw new Error('sendUserDocument: Telegram\'s clients send no empty files');
    const file = this.world.storeFile('document', input.bytes, { filename: input.filename, mimeType: input.mimeType ?? mimeTypeFor(input.filename) });
    const document: TgDocument = { file_name: input.filename, mime_type: file.mimeType!, file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: input.bytes.length };
    return this.addUserMessage(input, { document, ...this.caption(input.caption) }, { file, ...(input.caption !== undefined ? { caption: input.caption } : {}) });
  }

  /** Requests to the file download route (/file/bot<token>/<file_path>), oldest first: the path and the status. */
  get downloads(): readonly { path: string; status: number; at: number }[] {
    return this.httpApi.downloads;
  }

  private caption(raw: string | undefined): Pick<TgMessage, 'caption' | 'caption_entities'> {
    if (raw === undefined) return {};
    const formatted = formatText(raw, undefined);
    if (formatted.text.length > 1024) throw new Error('a caption holds at most 1024 characters');
    if (formatted.text === '') return {};
    return { caption: formatted.text, ...(formatted.entities.length > 0 ? { caption_entities: formatted.entities } : {}) };
  }

  private addUserMessage(input: UserChatInput, content: Partial<TgMessage>, extra: Pick<StoredMessage, 'text' | 'caption' | 'file'>): TgMessage {
    const from = toUser(input.from);
    const chatType = input.chatType ?? 'private';
    let chat: TgChat;
    if (chatType === 'private') {
      if (input.chatId !== undefined && input.chatId !== from.id) {
        throw new Error(`a private chat's id is the user's id (${from.id}), got ${input.chatId}`);
      }
      chat = privateChatFor(from);
    } else {
      const id = input.chatId;
      if (id === undefined || id >= 0) throw new Error('group and supergroup chats need a negative chatId');
      chat = groupChat(id, chatType, input.chatTitle ?? this.world.chats.get(id)?.chat.title ?? `Group ${id}`);
    }
    const record = this.world.upsertChat(chat);
    let replyTo: TgMessage | undefined;
    if (input.replyToMessageId !== undefined) {
      const target = record.messages.get(input.replyToMessageId);
      if (target === undefined) throw new Error(`no message ${input.replyToMessageId} in chat ${chat.id} to reply to`);
      const { reply_to_message: _nested, ...snapshot } = target.message;
      replyTo = structuredClone(snapshot);
    }
    const stored = this.world.addMessage(
      record,
      (messageId) => ({
        message_id: messageId,
        from,
        ...(input.senderChat !== undefined ? { sender_chat: input.senderChat } : {}),
        chat: record.chat,
        date: unixNow(),
        ...(replyTo !== undefined ? { reply_to_message: replyTo } : {}),
        ...content,
      }),
      { fromBot: false, ...extra },
    );
    stored.deliveredToBot = this.visibleToBot(stored.message) && this.enqueue('message', structuredClone(stored.message));
    return stored.message;
  }

  /** A user taps an inline button on a bot message: queues a `callback_query` update and returns the query. */
  pressButton(input: PressButtonInput): TgCallbackQuery {
    const stored = this.world.message(input.chatId, input.messageId);
    if (stored === undefined) throw new Error(`no message ${input.messageId} in chat ${input.chatId}`);
    const buttons = stored.replyMarkup?.inline_keyboard.flat() ?? [];
    const button = buttons.find((b) => (input.data !== undefined ? b.callback_data === input.data : b.text === input.text));
    if (!input.force && (button === undefined || button.callback_data === undefined)) {
      throw new Error(
        `message ${input.messageId} has no callback button ${JSON.stringify(input.data ?? input.text)}; buttons: ${JSON.stringify(buttons)}`,
      );
    }
    const from = toUser(input.from);
    const chat = this.world.chats.get(input.chatId)!.chat;
    if (chat.type === 'private' && from.id !== chat.id) throw new Error('only the private chat\'s user can press its buttons');
    const data = button?.callback_data ?? input.data;
    const query: TgCallbackQuery = {
      id: this.world.newCallbackQueryId(),
      from,
      message: structuredClone(stored.message),
      chat_instance: String(BigInt.asUintN(62, BigInt(chat.id) * 2654435761n)),
      ...(data !== undefined ? { data } : {}),
    };
    this.world.addCallbackQuery(query);
    this.enqueue('callback_query', query);
    return query;
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  get calls(): readonly ApiCallRecord[] {
    return this.callLog;
  }

  callsTo(method: string): ApiCallRecord[] {
    const wanted = method.toLowerCase();
    return this.callLog.filter((call) => call.method.toLowerCase() === wanted);
  }

  /** Every message of a chat in id order, both sides. */
  history(chatId: number): StoredMessage[] {
    return this.world.history(chatId);
  }

  botMessages(chatId?: number): StoredMessage[] {
    const all = chatId === undefined ? this.world.allMessages() : this.world.history(chatId);
    return all.filter((m) => m.fromBot);
  }

  message(chatId: number, messageId: number): StoredMessage | undefined {
    return this.world.message(chatId, messageId);
  }

  file(fileId: string): StoredFile | undefined {
    return this.world.file(fileId);
  }

  callbackAnswer(queryId: string): CallbackAnswer | undefined {
    return this.world.callbackAnswer(queryId);
  }

  commands(scope: object = { type: 'default' }, languageCode = ''): TgBotCommand[] | undefined {
    return this.world.commands.get(`${JSON.stringify(scope)}|${languageCode}`);
  }

  /** Updates created but not yet confirmed by the bot (getUpdates offset or a 2xx webhook answer). */
  pendingUpdates(): TgUpdate[] {
    return this.queue.peek(Number.MAX_SAFE_INTEGER);
  }

  get webhookUrl(): string | undefined {
    return this.webhook.config?.url;
  }

  // ---------------------------------------------------------------------------------------------
  // Waiting. Each helper first looks at what already happened, then waits, so there is no race
  // between triggering an action and starting to wait; make predicates specific enough.

  waitForCall(method: string, predicate: (call: ApiCallRecord) => boolean = () => true, timeoutMs?: number): Promise<ApiCallRecord> {
    const wanted = method.toLowerCase();
    return this.waitFor(`waitForCall(${method})`, timeoutMs, () =>
      this.callLog.find((call) => call.method.toLowerCase() === wanted && predicate(call)),
    );
  }

  /** A message the bot sent (any chat) matching the predicate. */
  waitForMessage(predicate: (message: StoredMessage) => boolean = () => true, timeoutMs?: number): Promise<StoredMessage> {
    return this.waitFor('waitForMessage', timeoutMs, () => this.botMessages().find(predicate));
  }

  waitForEdit(
    predicate: (message: StoredMessage, edit: MessageEdit) => boolean = () => true,
    timeoutMs?: number,
  ): Promise<{ message: StoredMessage; edit: MessageEdit }> {
    return this.waitFor('waitForEdit', timeoutMs, () => {
      for (const message of this.botMessages()) {
        const edit = message.edits.find((e) => predicate(message, e));
        if (edit !== undefined) return { message, edit };
      }
      return undefined;
    });
  }

  /**
   * Resolves once every queued update has been confirmed, i.e. the bot finished handling it
   * (telegraf confirms through the next getUpdates offset only after its handlers settle).
   */
  waitForIdle(timeoutMs?: number): Promise<void> {
    return this.waitFor('waitForIdle', timeoutMs, () => (this.queue.size === 0 ? true : undefined)).then(() => undefined);
  }

  /** Resolves while a getUpdates long poll is held open, i.e. a polling bot is up and waiting for updates. */
  waitForPolling(timeoutMs?: number): Promise<void> {
    return this.waitFor('waitForPolling', timeoutMs, () => (this.queue.polling ? true : undefined)).then(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Fault injection

  /**
   * The next `times` calls of `method` ('*' = any method, names case-insensitive) fail with `fault`
   * before the fake looks at them: e.g. tooManyRequests(3), serverError(502), or { networkError: true }.
   */
  failNext(method: string, fault: Fault, times = 1): void {
    this.httpApi.addFault(method, fault, times);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private record(method: string, parsed: ParsedRequest, via: ApiCallRecord['via'], status: number, response: TgResponse): void {
    const call: ApiCallRecord = {
      seq: this.callLog.length + 1,
      method,
      params: parsed.params,
      files: [...parsed.files.values()],
      via,
      status,
      response,
      at: Date.now(),
    };
    this.callLog.push(call);
    this.notify('call', call);
  }

  private enqueue(kind: UpdateKind, payload: NonNullable<TgUpdate[UpdateKind]>): boolean {
    const update = this.queue.enqueue(kind, payload);
    if (update !== undefined) this.notify('update', update);
    return update !== undefined;
  }

  /**
   * Privacy mode (the default for bots): in groups only commands not addressed to another bot,
   * @mentions of this bot and replies to its messages reach it.
   */
  private visibleToBot(message: TgMessage): boolean {
    if (message.chat.type === 'private' || this.botInfo.can_read_all_group_messages === true) return true;
    if (message.reply_to_message?.from?.id === this.botInfo.id) return true;
    const me = (this.botInfo.username ?? '').toLowerCase();
    // A caption's commands and mentions count like a text's.
    const text = message.text ?? message.caption ?? '';
    return (message.entities ?? message.caption_entities ?? []).some((entity) => {
      const value = text.slice(entity.offset, entity.offset + entity.length).toLowerCase();
      if (entity.type === 'bot_command') return !value.includes('@') || value.endsWith(`@${me}`);
      return entity.type === 'mention' && value === `@${me}`;
    });
  }

  private notify<K extends keyof FakeTelegramEvents>(event: K, ...args: FakeTelegramEvents[K]): void {
    (this.emit as (event: K, ...args: FakeTelegramEvents[K]) => boolean)(event, ...args);
    this.waiters.check();
  }

  private waitFor<T>(label: string, timeoutMs: number | undefined, scan: () => T | undefined): Promise<T> {
    const describe = () => `calls so far: ${this.callLog.map((c) => `${c.method}:${c.status}`).join(', ') || 'none'}`;
    return this.waiters.waitFor(label, timeoutMs ?? this.options.waitTimeoutMs ?? 5000, scan, describe);
  }
}

function toUser(input: UserInput): TgUser {
  const user: TgUser = {
    id: input.id,
    is_bot: input.is_bot ?? false,
    first_name: input.first_name ?? input.username ?? `User ${input.id}`,
  };
  if (input.last_name !== undefined) user.last_name = input.last_name;
  if (input.username !== undefined) user.username = input.username;
  if (input.language_code !== undefined) user.language_code = input.language_code;
  return user;
}
