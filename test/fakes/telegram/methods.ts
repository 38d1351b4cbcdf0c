/** Bot API method handlers: validate params the way Telegram does, mutate the World, and return Telegram's result shapes. */

import { badRequest, conflict } from './errors.ts';
import { formatText, type FormattedText } from './formatting.ts';
import { probeVideoBytes } from '../../helpers/ffprobe.ts';
import type { Params } from './request-body.ts';
import type {
  MessageEdit,
  StoredFile,
  StoredMessage,
  TgBotCommand,
  TgFile,
  TgInlineKeyboardButton,
  TgInlineKeyboardMarkup,
  TgMessage,
  TgMessageEntity,
  TgUser,
} from './types.ts';
import type { UpdateQueue } from './update-queue.ts';
import type { WebhookSender } from './webhook-sender.ts';
import { mimeTypeFor, unixNow, type ChatRecord, type World } from './world.ts';

export interface MethodContext {
  params: Params;
  /** Aborted when the HTTP client goes away (ends a held getUpdates). */
  signal: AbortSignal;
}

/** A result that carries Telegram's optional top-level `description` (setWebhook does this). */
export class WithDescription {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

export type MethodHandler = (ctx: MethodContext) => unknown;

export interface MethodDeps {
  world: World;
  queue: UpdateQueue;
  webhook: WebhookSender;
  getMe: TgUser;
  downloadLimitBytes: number;
  allowHttpWebhooks: boolean;
}

const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'record_audio',
  'upload_audio', 'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);

/** Canonical name -> handler; lookups are case-insensitive because Bot API method names are. */
export function createMethods(deps: MethodDeps): Map<string, { name: string; handler: MethodHandler }> {
  const { world, queue, webhook } = deps;
  const sender: TgUser = { id: deps.getMe.id, is_bot: true, first_name: deps.getMe.first_name };
  if (deps.getMe.username !== undefined) sender.username = deps.getMe.username;

  const handlers: Record<string, MethodHandler> = {
    getMe: () => deps.getMe,

    getUpdates: ({ params: p, signal }) => {
      if (webhook.config !== undefined) {
        throw conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
      }
      const allowed = p.json('allowed_updates', "can't parse allowed_updates JSON array");
      if (Array.isArray(allowed)) queue.setAllowedUpdates(allowed.map(String));
      const offset = p.int('offset');
      if (offset !== undefined) queue.confirm(offset);
      const limit = Math.min(100, Math.max(1, p.int('limit') ?? 100));
      return queue.poll(limit, Math.max(0, p.int('timeout') ?? 0), signal);
    },

    setWebhook: ({ params: p }) => {
      const url = p.str('url') ?? '';
      if (url === '') return deleteWebhook(p);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw badRequest('bad webhook: invalid webhook URL specified');
      }
      if (parsed.protocol !== 'https:' && !(deps.allowHttpWebhooks && parsed.protocol === 'http:')) {
        throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
      }
      const secretToken = p.str('secret_token');
      if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
        throw badRequest('bad webhook: secret token contains unallowed characters');
      }
      const maxConnections = p.int('max_connections') ?? 40;
      if (maxConnections < 1 || maxConnections > 100) throw badRequest('bad webhook: max_connections must be between 1 and 100');
      const allowed = p.json('allowed_updates', "can't parse allowed_updates JSON array");
      if (Array.isArray(allowed)) queue.setAllowedUpdates(allowed.map(String));
      if (p.bool('drop_pending_updates') === true) queue.dropAll();
      const alreadySet = webhook.config?.url === url;
      // A poll held open while the bot switches to webhooks is cut off, as on the real server.
      queue.cancel(conflict('terminated by setWebhook request'));
      const ipAddress = p.str('ip_address');
      webhook.set({
        url,
        maxConnections,
        ...(secretToken !== undefined ? { secretToken } : {}),
        ...(ipAddress !== undefined ? { ipAddress } : {}),
      });
      return new WithDescription(true, alreadySet ? 'Webhook is already set' : 'Webhook was set');
    },

    deleteWebhook: ({ params: p }) => deleteWebhook(p),

    setMyCommands: ({ params: p }) => {
      // Without `commands` the real API sets an empty list and succeeds.
      const raw = p.json('commands', "can't parse commands JSON object") ?? [];
      if (!Array.isArray(raw)) throw badRequest('field "commands" must be an Array');
      if (raw.length > 100) throw badRequest('too many commands specified');
      const commands: TgBotCommand[] = raw.map((item: unknown) => {
        const entry = (item ?? {}) as Record<string, unknown>;
        if (typeof entry.command !== 'string') throw badRequest('can\'t parse BotCommand: Can\'t find field "command"');
        if (typeof entry.description !== 'string') throw badRequest('can\'t parse BotCommand: Can\'t find field "description"');
        if (!/^[a-z0-9_]{1,32}$/.test(entry.command)) throw badRequest('BOT_COMMAND_INVALID');
        if (entry.description.trim() === '') throw badRequest('command description must be non-empty');
        if (entry.description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
        return { command: entry.command, description: entry.description };
      });
      world.commands.set(commandsKey(p), commands);
      return true;
    },

    sendMessage: ({ params: p }) => {
      const formatted = formatBody(p, 'text', 'entities', 4096, 'message is too long');
      if (formatted.text === '') throw badRequest('message text is empty');
      const chat = world.resolveChat(p.chatId());
      const markup = parseReplyMarkup(p);
      const replyTo = resolveReplyTo(p, chat);
      const stored = world.addMessage(
        chat,
        (messageId) => ({
          message_id: messageId,
          from: sender,
          chat: chat.chat,
          date: unixNow(),
          ...(replyTo !== undefined ? { reply_to_message: replyTo } : {}),
          text: formatted.text,
          ...(formatted.entities.length > 0 ? { entities: formatted.entities } : {}),
          ...(markup !== undefined ? { reply_markup: markup } : {}),
        }),
        { fromBot: true, text: formatted.text, ...parseModeOf(p), ...markupOf(markup), sentWith: { method: 'sendMessage', params: p.raw } },
      );
      return stored.message;
    },

    sendVideo: async ({ params: p }) => sendMedia(p, 'video', await inputFile(p, 'video')),
    sendDocument: async ({ params: p }) => sendMedia(p, 'document', await inputFile(p, 'document')),

    editMessageText: ({ params: p }) => {
      const stored = editableMessage(p);
      const formatted = formatBody(p, 'text', 'entities', 4096, 'message is too long');
      if (formatted.text === '') throw badRequest('message text is empty');
      if (stored.message.text === undefined) throw badRequest('there is no text in the message to edit');
      const markup = parseReplyMarkup(p);
      if (stored.message.text === formatted.text && sameEntities(stored.message.entities, formatted.entities) && sameMarkup(stored.replyMarkup, markup)) {
        throw badRequest(NOT_MODIFIED);
      }
      stored.message.text = formatted.text;
      setOptional(stored.message, 'entities', formatted.entities.length > 0 ? formatted.entities : undefined);
      stored.text = formatted.text;
      return applyEdit(stored, 'editMessageText', p, markup, { text: formatted.text, entities: formatted.entities });
    },

    editMessageCaption: ({ params: p }) => {
      const stored = editableMessage(p);
      if (stored.file === undefined) throw badRequest('there is no caption in the message to edit');
      const formatted = formatBody(p, 'caption', 'caption_entities', 1024, 'message caption is too long');
      const markup = parseReplyMarkup(p);
      if ((stored.caption ?? '') === formatted.text && sameEntities(stored.message.caption_entities, formatted.entities) && sameMarkup(stored.replyMarkup, markup)) {
        throw badRequest(NOT_MODIFIED);
      }
      setOptional(stored.message, 'caption', formatted.text !== '' ? formatted.text : undefined);
      setOptional(stored.message, 'caption_entities', formatted.entities.length > 0 ? formatted.entities : undefined);
      setOptional(stored, 'caption', formatted.text !== '' ? formatted.text : undefined);
      return applyEdit(stored, 'editMessageCaption', p, markup, { caption: formatted.text, entities: formatted.entities });
    },

    editMessageReplyMarkup: ({ params: p }) => {
      const stored = editableMessage(p);
      const markup = parseReplyMarkup(p);
      if (sameMarkup(stored.replyMarkup, markup)) throw badRequest(NOT_MODIFIED);
      return applyEdit(stored, 'editMessageReplyMarkup', p, markup, {});
    },

    answerCallbackQuery: ({ params: p }) => {
      const queryId = p.str('callback_query_id');
      if (queryId === undefined || queryId === '') throw badRequest('query is too old and response timeout expired or query ID is invalid');
      const text = p.str('text');
      if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
      const showAlert = p.bool('show_alert');
      world.answerCallbackQuery({ queryId, at: Date.now(), ...(text !== undefined ? { text } : {}), ...(showAlert !== undefined ? { showAlert } : {}) });
      return true;
    },

    getFile: ({ params: p }) => {
      const fileId = p.str('file_id');
      if (fileId === undefined || fileId === '') throw badRequest('file_id not specified');
      const file = world.file(fileId);
      if (file === undefined) throw badRequest('invalid file_id');
      // Bots may download files of at most 20 MB; getFile says so for bigger ones.
      if (file.bytes.length > deps.downloadLimitBytes) throw badRequest('file is too big');
      const result: TgFile = { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.bytes.length, file_path: world.filePathOf(file) };
      return result;
    },

    sendChatAction: ({ params: p }) => {
      world.resolveChat(p.chatId());
      if (!CHAT_ACTIONS.has(p.str('action') ?? '')) throw badRequest('wrong parameter action in request');
      return true;
    },
  };

  function deleteWebhook(p: Params): WithDescription {
    if (p.bool('drop_pending_updates') === true) queue.dropAll();
    const had = webhook.config !== undefined;
    webhook.set(undefined);
    return new WithDescription(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
  }

  function commandsKey(p: Params): string {
    const scope = p.json('scope', "can't parse BotCommandScope JSON object") ?? { type: 'default' };
    return `${JSON.stringify(scope)}|${p.str('language_code') ?? ''}`;
  }

  /** Text or caption after parse_mode, explicit entities and Telegram's trimming; length checked after parsing. */
  function formatBody(p: Params, field: string, entitiesField: string, maxLength: number, tooLong: string): FormattedText {
    const explicit = p.json(entitiesField, `can't parse ${entitiesField} JSON object`);
    const formatted = formatText(p.str(field) ?? '', p.str('parse_mode'), Array.isArray(explicit) ? (explicit as TgMessageEntity[]) : undefined);
    if (formatted.text.length > maxLength) throw badRequest(tooLong);
    return formatted;
  }

  function editableMessage(p: Params): StoredMessage {
    if (p.has('inline_message_id')) throw badRequest('inline_message_id is not supported by FakeTelegramServer');
    const chat = world.resolveChat(p.chatId());
    const messageId = p.int('message_id');
    if (messageId === undefined) throw badRequest('message identifier is not specified');
    const stored = chat.messages.get(messageId);
    if (stored === undefined) throw badRequest('message to edit not found');
    if (!stored.fromBot) throw badRequest("message can't be edited");
    return stored;
  }

  /** Common tail of every edit: markup is replaced (omitting it removes the keyboard, as on Telegram). */
  function applyEdit(
    stored: StoredMessage,
    method: string,
    p: Params,
    markup: TgInlineKeyboardMarkup | undefined,
    content: Pick<MessageEdit, 'text' | 'caption' | 'entities'>,
  ): TgMessage {
    setOptional(stored.message, 'reply_markup', markup);
    setOptional(stored, 'replyMarkup', markup);
    stored.message.edit_date = unixNow();
    const parseMode = p.str('parse_mode');
    if (method !== 'editMessageReplyMarkup') setOptional(stored, 'parseMode', parseMode);
    const edit: MessageEdit = { method, date: stored.message.edit_date, ...content };
    if (parseMode !== undefined) edit.parseMode = parseMode;
    if (markup !== undefined) edit.replyMarkup = markup;
    world.recordEdit(stored, edit);
    return stored.message;
  }

  function sendMedia(p: Params, kind: 'video' | 'document', file: StoredFile): TgMessage {
    const caption = formatBody(p, 'caption', 'caption_entities', 1024, 'message caption is too long');
    const chat = world.resolveChat(p.chatId());
    const markup = parseReplyMarkup(p);
    const replyTo = resolveReplyTo(p, chat);
    const media =
      kind === 'video'
        ? {
            video: {
              duration: file.video?.duration ?? 0,
              width: file.video?.width ?? 0,
              height: file.video?.height ?? 0,
              ...(file.filename !== undefined ? { file_name: file.filename } : {}),
              mime_type: file.mimeType ?? 'video/mp4',
              file_id: file.fileId,
              file_unique_id: file.fileUniqueId,
              file_size: file.bytes.length,
            },
          }
        : {
            document: {
              ...(file.filename !== undefined ? { file_name: file.filename } : {}),
              mime_type: file.mimeType ?? 'application/octet-stream',
              file_id: file.fileId,
              file_unique_id: file.fileUniqueId,
              file_size: file.bytes.length,
            },
          };
    const stored = world.addMessage(
      chat,
      (messageId) => ({
        message_id: messageId,
        from: sender,
        chat: chat.chat,
        date: unixNow(),
        ...(replyTo !== undefined ? { reply_to_message: replyTo } : {}),
        ...media,
        ...(caption.text !== '' ? { caption: caption.text } : {}),
        ...(caption.entities.length > 0 ? { caption_entities: caption.entities } : {}),
        ...(p.bool('has_spoiler') === true ? { has_media_spoiler: true as const } : {}),
        ...(markup !== undefined ? { reply_markup: markup } : {}),
      }),
      {
        fromBot: true,
        file,
        ...(caption.text !== '' ? { caption: caption.text } : {}),
        ...parseModeOf(p),
        ...markupOf(markup),
        sentWith: { method: kind === 'video' ? 'sendVideo' : 'sendDocument', params: p.raw },
      },
    );
    return stored.message;
  }

  /** An uploaded part, or an existing file_id (no upload): the two ways the product sends a clip. */
  async function inputFile(p: Params, field: 'video' | 'document'): Promise<StoredFile> {
    const upload = p.files.get(field);
    if (upload !== undefined) {
      if (upload.bytes.length === 0) throw badRequest('file must be non-empty');
      return storeUpload(p, field, upload.bytes, upload.filename, upload.contentType);
    }
    const ref = p.str(field);
    if (ref === undefined || ref === '') throw badRequest(`there is no ${field} in the request`);
    // URLs and attach:// are other ways in; this fake knows only uploads and file_ids.
    const existing = world.file(ref);
    if (existing === undefined) throw badRequest('wrong file identifier/HTTP URL specified');
    if (existing.kind !== field) throw badRequest('type of file mismatch');
    return existing;
  }

  async function storeUpload(p: Params, kind: 'video' | 'document', bytes: Buffer, filename: string | undefined, contentType: string | undefined): Promise<StoredFile> {
    const meta: Parameters<World['storeFile']>[2] = { mimeType: mimeTypeFor(filename, contentType) };
    if (filename !== undefined) meta.filename = filename;
    if (kind === 'video') {
      // Explicit width/height/duration win; otherwise read them from the MP4 like Telegram's servers do.
      const probed = await probeVideoBytes(bytes);
      meta.video = {
        width: p.int('width') ?? probed?.width ?? 0,
        height: p.int('height') ?? probed?.height ?? 0,
        duration: p.int('duration') ?? Math.round(probed?.durationS ?? 0),
      };
    }
    return world.storeFile(kind, bytes, meta);
  }

  function resolveReplyTo(p: Params, chat: ChatRecord): TgMessage | undefined {
    const rp = p.json('reply_parameters', "can't parse reply parameters JSON object") as
      | { message_id?: number; allow_sending_without_reply?: boolean }
      | undefined;
    const messageId = rp?.message_id ?? p.int('reply_to_message_id');
    if (messageId === undefined) return undefined;
    const target = chat.messages.get(messageId);
    if (target === undefined) {
      if (rp?.allow_sending_without_reply ?? p.bool('allow_sending_without_reply')) return undefined;
      throw badRequest('message to be replied not found');
    }
    // Telegram nests only one level of reply_to_message.
    const { reply_to_message: _nested, ...snapshot } = target.message;
    return structuredClone(snapshot);
  }

  return new Map(Object.entries(handlers).map(([name, handler]) => [name.toLowerCase(), { name, handler }]));
}

/**
 * Inline keyboards are validated and echoed in the Message; reply keyboards, ForceReply and
 * ReplyKeyboardRemove are accepted but, as on Telegram, never echoed back.
 */
export function parseReplyMarkup(p: Params): TgInlineKeyboardMarkup | undefined {
  const raw = p.json('reply_markup', "can't parse reply keyboard markup JSON object");
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest("can't parse reply keyboard markup JSON object");
  const keyboard = (raw as Record<string, unknown>).inline_keyboard;
  if (keyboard === undefined) return undefined;
  if (!Array.isArray(keyboard)) throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array');
  const rows: TgInlineKeyboardButton[][] = [];
  for (const row of keyboard) {
    if (!Array.isArray(row)) throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
    const buttons: TgInlineKeyboardButton[] = [];
    for (const item of row) {
      const button = (item ?? {}) as Record<string, unknown>;
      if (typeof button.text !== 'string') throw badRequest('can\'t parse inline keyboard button: Field "text" must be of type String');
      const actions = BUTTON_ACTIONS.filter((key) => button[key] !== undefined && button[key] !== null);
      if (actions.length === 0) throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      if (button.callback_data !== undefined) {
        const size = typeof button.callback_data === 'string' ? Buffer.byteLength(button.callback_data) : 0;
        if (size < 1 || size > 64) throw badRequest('BUTTON_DATA_INVALID');
      }
      if (typeof button.url === 'string' && !/^(https?|tg):\/?\/?\S+$/i.test(button.url)) {
        throw badRequest(`inline keyboard button URL '${button.url}' is invalid: Wrong HTTP URL`);
      }
      const clean: TgInlineKeyboardButton = { text: button.text };
      for (const key of actions) clean[key] = button[key];
      buttons.push(clean);
    }
    if (buttons.length > 0) rows.push(buttons);
  }
  // An empty inline keyboard is how bots remove one.
  return rows.length > 0 ? { inline_keyboard: rows } : undefined;
}

/** The fields Telegram knows; anything else a client library adds (telegraf's `hide`) is dropped, not echoed. */
const BUTTON_ACTIONS = [
  'url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat',
  'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay',
];

const sameEntities = (a: TgMessageEntity[] | undefined, b: TgMessageEntity[]) => JSON.stringify(a ?? []) === JSON.stringify(b);
const sameMarkup = (a: TgInlineKeyboardMarkup | undefined, b: TgInlineKeyboardMarkup | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const parseModeOf = (p: Params): { parseMode?: string } => {
  const parseMode = p.str('parse_mode');
  return parseMode !== undefined ? { parseMode } : {};
};
const markupOf = (markup: TgInlineKeyboardMarkup | undefined): { replyMarkup?: TgInlineKeyboardMarkup } =>
  markup !== undefined ? { replyMarkup: markup } : {};

/** exactOptionalPropertyTypes-friendly set-or-delete. */
function setOptional<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}
