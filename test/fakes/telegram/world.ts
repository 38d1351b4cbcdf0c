/** In-memory Telegram "world" behind the fake: chats, per-chat message ids and history, stored files, callback queries, commands. */

import { createHash, randomBytes } from 'node:crypto';
import { badRequest } from './errors.ts';
import type {
  CallbackAnswer,
  ChatType,
  MessageEdit,
  StoredFile,
  StoredMessage,
  TgBotCommand,
  TgCallbackQuery,
  TgChat,
  TgMessage,
  TgUser,
} from './types.ts';

export interface ChatRecord {
  chat: TgChat;
  /** Message ids are per chat and only ever grow, for both sides of the conversation. */
  lastMessageId: number;
  messages: Map<number, StoredMessage>;
}

export interface WorldEvents {
  message(stored: StoredMessage): void;
  edit(stored: StoredMessage, edit: MessageEdit): void;
}

const FILE_ID_PREFIX: Record<StoredFile['kind'], string> = {
  // Real file_ids start with a type tag; keeping the familiar prefixes makes logs read naturally.
  video: 'BAACAgIAAxkBAAI',
  document: 'BQACAgIAAxkBAAI',
  photo: 'AgACAgIAAxkBAAI',
};

/** The folders getFile's file_path names, by kind (Telegram's own). */
const FILE_FOLDER: Record<StoredFile['kind'], string> = { video: 'videos', document: 'documents', photo: 'photos' };

const EXTENSION_MIME: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  txt: 'text/plain',
  // Telegram's clients name a document's type from its file name.
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};

export function mimeTypeFor(filename: string | undefined, fallback?: string): string {
  const ext = filename?.split('.').pop()?.toLowerCase();
  return (ext !== undefined && EXTENSION_MIME[ext]) || fallback || 'application/octet-stream';
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);

export class World {
  readonly chats = new Map<number, ChatRecord>();
  private readonly files = new Map<string, StoredFile>();
  private readonly callbacks = new Map<string, { query: TgCallbackQuery; answer?: CallbackAnswer }>();
  /** setMyCommands storage keyed by scope JSON + language code. */
  readonly commands = new Map<string, TgBotCommand[]>();
  private fileSeq = 0;
  private readonly filesByPath = new Map<string, StoredFile>();
  private filePathSeq = 0;

  constructor(
    readonly bot: TgUser,
    private readonly events: WorldEvents,
  ) {}

  // ---- chats ----

  /** Registers a chat (or refreshes its descriptive fields) and returns its record. */
  upsertChat(chat: TgChat): ChatRecord {
    const existing = this.chats.get(chat.id);
    if (existing !== undefined) {
      existing.chat = { ...existing.chat, ...chat };
      return existing;
    }
    const record: ChatRecord = { chat: { ...chat }, lastMessageId: 0, messages: new Map() };
    this.chats.set(chat.id, record);
    return record;
  }

  /** chat_id -> chat, with the error Telegram gives for unknown chats. */
  resolveChat(chatId: number | string): ChatRecord {
    let record: ChatRecord | undefined;
    if (typeof chatId === 'number') record = this.chats.get(chatId);
    else {
      const username = chatId.replace(/^@/, '').toLowerCase();
      record = [...this.chats.values()].find((r) => r.chat.username?.toLowerCase() === username);
    }
    if (record === undefined) throw badRequest('chat not found');
    return record;
  }

  // ---- messages ----

  addMessage(
    record: ChatRecord,
    build: (messageId: number) => TgMessage,
    extra: Omit<StoredMessage, 'chatId' | 'messageId' | 'message' | 'edits'>,
  ): StoredMessage {
    const messageId = ++record.lastMessageId;
    const message = build(messageId);
    const stored: StoredMessage = { chatId: record.chat.id, messageId, message, edits: [], ...extra };
    record.messages.set(messageId, stored);
    if (stored.fromBot) this.events.message(stored);
    return stored;
  }

  message(chatId: number, messageId: number): StoredMessage | undefined {
    return this.chats.get(chatId)?.messages.get(messageId);
  }

  history(chatId: number): StoredMessage[] {
    return [...(this.chats.get(chatId)?.messages.values() ?? [])];
  }

  allMessages(): StoredMessage[] {
    return [...this.chats.values()].flatMap((r) => [...r.messages.values()]);
  }

  recordEdit(stored: StoredMessage, edit: MessageEdit): void {
    stored.edits.push(edit);
    this.events.edit(stored, edit);
  }

  // ---- files ----

  storeFile(
    kind: StoredFile['kind'],
    bytes: Buffer,
    meta: { filename?: string; mimeType?: string; video?: StoredFile['video']; photo?: StoredFile['photo'] },
  ): StoredFile {
    const seq = this.fileSeq++;
    const file: StoredFile = {
      fileId: `${FILE_ID_PREFIX[kind]}${seq}${randomBytes(24).toString('base64url')}`,
      // Telegram's file_unique_id is the same for the same file; derive it from the content.
      fileUniqueId: `AgAD${createHash('sha256').update(bytes).digest('base64url').slice(0, 12)}`,
      kind,
      bytes,
    };
    if (meta.filename !== undefined) file.filename = meta.filename;
    if (meta.mimeType !== undefined) file.mimeType = meta.mimeType;
    if (meta.video !== undefined) file.video = meta.video;
    if (meta.photo !== undefined) file.photo = meta.photo;
    this.files.set(file.fileId, file);
    return file;
  }

  /** getFile: the file's download path, named on the first call (Telegram keeps it valid for an hour at least). */
  filePathOf(file: StoredFile): string {
    if (file.filePath === undefined) {
      const ext = file.kind === 'photo' ? 'jpg' : (file.filename?.split('.').pop()?.toLowerCase() ?? (file.kind === 'video' ? 'mp4' : 'bin'));
      file.filePath = `${FILE_FOLDER[file.kind]}/file_${this.filePathSeq++}.${ext}`;
      this.filesByPath.set(file.filePath, file);
    }
    return file.filePath;
  }

  /** The download route's file, by the path getFile named; undefined for any other path. */
  fileAtPath(path: string): StoredFile | undefined {
    return this.filesByPath.get(path);
  }

  file(fileId: string): StoredFile | undefined {
    return this.files.get(fileId);
  }

  // ---- callback queries ----

  addCallbackQuery(query: TgCallbackQuery): void {
    this.callbacks.set(query.id, { query });
  }

  /** Each query can be answered once; unknown or repeated ids get Telegram's "query is too old" error. */
  answerCallbackQuery(answer: CallbackAnswer): void {
    const entry = this.callbacks.get(answer.queryId);
    if (entry === undefined || entry.answer !== undefined) {
      throw badRequest('query is too old and response timeout expired or query ID is invalid');
    }
    entry.answer = answer;
  }

  callbackAnswer(queryId: string): CallbackAnswer | undefined {
    return this.callbacks.get(queryId)?.answer;
  }

  newCallbackQueryId(): string {
    // Real ids are large decimal strings.
    return BigInt(`0x${randomBytes(7).toString('hex')}`).toString();
  }
}

/** Chat object for a user's private chat with the bot (chat id == user id). */
export function privateChatFor(user: TgUser): TgChat {
  const chat: TgChat = { id: user.id, type: 'private', first_name: user.first_name };
  if (user.last_name !== undefined) chat.last_name = user.last_name;
  if (user.username !== undefined) chat.username = user.username;
  return chat;
}

export function groupChat(id: number, type: Exclude<ChatType, 'private'>, title: string): TgChat {
  return { id, type, title };
}
