/** Wire shapes of the Bot API objects the fake Telegram server produces, and the records tests read back from it. */

// ---- Bot API wire objects (field names exactly as Telegram sends them) ----

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  can_join_groups?: boolean;
  can_read_all_group_messages?: boolean;
  supports_inline_queries?: boolean;
  can_connect_to_business?: boolean;
  has_main_web_app?: boolean;
}

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';

export interface TgChat {
  id: number;
  type: ChatType;
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
}

export interface TgMessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
  user?: TgUser;
}

export interface TgVideo {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  duration: number;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

export interface TgDocument {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

/** One size of a photo, as Telegram lists them in `Message.photo` (smallest first). */
export interface TgPhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size?: number;
}

/** getFile's answer: `file_path` is valid for the download route /file/bot<token>/<file_path>. */
export interface TgFile {
  file_id: string;
  file_unique_id: string;
  file_size?: number;
  file_path?: string;
}

export interface TgInlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [field: string]: unknown;
}

export interface TgInlineKeyboardMarkup {
  inline_keyboard: TgInlineKeyboardButton[][];
}

export interface TgMessage {
  message_id: number;
  from?: TgUser;
  /** The chat a message speaks for: anonymous group admins (the group itself), posts as a channel. */
  sender_chat?: TgChat;
  chat: TgChat;
  date: number;
  edit_date?: number;
  reply_to_message?: TgMessage;
  text?: string;
  entities?: TgMessageEntity[];
  caption?: string;
  caption_entities?: TgMessageEntity[];
  video?: TgVideo;
  photo?: TgPhotoSize[];
  document?: TgDocument;
  has_media_spoiler?: true;
  reply_markup?: TgInlineKeyboardMarkup;
  link_preview_options?: unknown;
}

export interface TgCallbackQuery {
  id: string;
  from: TgUser;
  message?: TgMessage;
  chat_instance: string;
  data?: string;
}

export type UpdateKind = 'message' | 'edited_message' | 'callback_query';

export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  edited_message?: TgMessage;
  callback_query?: TgCallbackQuery;
}

export interface TgResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

export type TgResponse =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: TgResponseParameters };

export interface TgBotCommand {
  command: string;
  description: string;
}

// ---- What tests read back ----

/** One file part of a multipart request, bytes exactly as uploaded. */
export interface UploadedFile {
  fieldName: string;
  filename?: string;
  contentType?: string;
  bytes: Buffer;
}

/** A file the fake "stored on Telegram's servers": what a file_id resolves to. */
export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  kind: 'video' | 'document' | 'photo';
  bytes: Buffer;
  /** Set once getFile named it: the path of the download route. */
  filePath?: string;
  filename?: string;
  mimeType?: string;
  /** Set for videos: what Telegram reports in the Video object. */
  video?: { width: number; height: number; duration: number };
  /** Set for photo sizes. */
  photo?: { width: number; height: number };
}

/** State of a message after one edit (the edit list is the message's edit history, oldest first). */
export interface MessageEdit {
  method: string;
  date: number;
  text?: string;
  caption?: string;
  entities?: TgMessageEntity[];
  parseMode?: string;
  replyMarkup?: TgInlineKeyboardMarkup;
}

export interface StoredMessage {
  chatId: number;
  messageId: number;
  /** True for messages the bot sent through the API, false for injected user messages. */
  fromBot: boolean;
  /** The live Bot API object (edits are applied to it), as the API would return it now. */
  message: TgMessage;
  /** Text after parse_mode was applied (markup stripped), as Telegram stores it. */
  text?: string;
  caption?: string;
  /** parse_mode of the latest send/edit, if any. */
  parseMode?: string;
  replyMarkup?: TgInlineKeyboardMarkup;
  /** The uploaded or re-sent video/document. */
  file?: StoredFile;
  edits: MessageEdit[];
  /** For user messages: whether an update reached the bot (privacy mode can hide group chatter). */
  deliveredToBot?: boolean;
  /** For bot messages: the method and raw parameters of the send call. */
  sentWith?: { method: string; params: Record<string, unknown> };
}

export interface ApiCallRecord {
  seq: number;
  /** Canonical method name when known (getUpdates), else as it appeared in the URL. */
  method: string;
  /** Parsed parameters; multipart and query-string values stay strings, as the API receives them. */
  params: Record<string, unknown>;
  files: UploadedFile[];
  /** 'webhook-reply' when the bot answered a webhook request with a method call in the response body. */
  via: 'http' | 'webhook-reply';
  status: number;
  response: TgResponse;
  at: number;
}

export interface CallbackAnswer {
  queryId: string;
  text?: string;
  showAlert?: boolean;
  at: number;
}

export interface WebhookDelivery {
  updateId: number;
  url: string;
  ok: boolean;
  status?: number;
  error?: string;
  at: number;
}

/** A canned failure for failNext(): a Bot API error response, or a dropped connection. */
export type Fault =
  | { error_code: number; description: string; parameters?: TgResponseParameters }
  | { networkError: true };
