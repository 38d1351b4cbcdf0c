/** Message storage with Discord's rules: body validation, attachment create/keep/replace, embed normalisation, edit history. */
import { MessageFlags, type APIAttachment, type APIEmbed, type APIMessage, type APITextChannel, type APIUser, type MessageType } from 'discord-api-types/v10';
import type { Clock, Snowflakes } from './clock.ts';
import { Errors, fieldError } from './errors.ts';
import type { UploadedFile } from './types.ts';

export interface StoredMessage {
  message: APIMessage;
  /** Every version, oldest first; the last one equals `message`. */
  versions: APIMessage[];
  deleted?: boolean;
}

const LOADING_FLAG = MessageFlags.Loading;
const EDITABLE_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2 | MessageFlags.Ephemeral;

export const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export class MessageStore {
  readonly messages = new Map<string, StoredMessage>();
  readonly attachmentBytes = new Map<string, Buffer>();
  /** http://127.0.0.1:PORT, set by start(); attachment URLs point back at the fake. */
  baseUrl = '';

  constructor(
    private readonly clock: Clock,
    private readonly snowflakes: Snowflakes,
    private readonly channels: Map<string, APITextChannel>,
  ) {}

  get(id: string): StoredMessage | undefined {
    return this.messages.get(id);
  }

  /** Throws Discord's validation errors for a message body; `creating` also rejects empty messages. */
  validate(body: Record<string, unknown>, files: UploadedFile[], creating: boolean): void {
    const { content, embeds, components } = body;
    if (content != null && (typeof content !== 'string' || content.length > 2000)) {
      throw Errors.invalidForm(fieldError(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.'));
    }
    if (embeds != null) {
      if (!Array.isArray(embeds) || embeds.length > 10) throw Errors.invalidForm(fieldError(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.'));
      embeds.forEach((embed: Record<string, unknown>, i) => {
        if (typeof embed.title === 'string' && embed.title.length > 256) throw Errors.invalidForm(fieldError(['embeds', `${i}`, 'title'], 'BASE_TYPE_MAX_LENGTH', 'Must be 256 or fewer in length.'));
        if (typeof embed.description === 'string' && embed.description.length > 4096) {
          throw Errors.invalidForm(fieldError(['embeds', `${i}`, 'description'], 'BASE_TYPE_MAX_LENGTH', 'Must be 4096 or fewer in length.'));
        }
      });
    }
    if (components != null && (!Array.isArray(components) || components.length > 40)) {
      throw Errors.invalidForm(fieldError(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 40 or fewer in length.'));
    }
    const hasSomething = (typeof content === 'string' && content.length > 0) || (Array.isArray(embeds) && embeds.length > 0) || (Array.isArray(components) && components.length > 0) || files.length > 0 || body.sticker_ids != null || body.poll != null;
    if (creating && !hasSomething) throw Errors.emptyMessage();
  }

  /**
   * Applies Discord's attachment rules: with an `attachments` array, listed existing ids are kept and
   * numeric ids pick `files[n]`; without one, edits keep what was there. Unreferenced uploads are appended.
   */
  private resolveAttachments(existing: APIAttachment[], meta: unknown, files: UploadedFile[], channelId: string, ephemeral: boolean): APIAttachment[] {
    const byIndex = new Map<string, UploadedFile>();
    files.forEach((f, i) => byIndex.set(/^files\[(\d+)\]$/.exec(f.field)?.[1] ?? `${i}`, f));
    const used = new Set<UploadedFile>();
    const result: APIAttachment[] = [];
    const create = (file: UploadedFile, entry: Record<string, unknown>): APIAttachment => {
      used.add(file);
      const id = this.snowflakes.next();
      const filename = typeof entry.filename === 'string' ? entry.filename : file.filename;
      this.attachmentBytes.set(id, file.data);
      const ext = filename.split('.').pop()?.toLowerCase() ?? '';
      const declared = file.contentType && file.contentType !== 'application/octet-stream' ? file.contentType : undefined;
      const contentType = declared ?? CONTENT_TYPES[ext];
      const url = `${this.baseUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
      return {
        id,
        filename,
        size: file.data.length,
        url,
        proxy_url: url,
        ...(contentType ? { content_type: contentType } : {}),
        ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
        ...(ephemeral ? { ephemeral: true } : {}),
      };
    };
    if (Array.isArray(meta)) {
      for (const raw of meta as Record<string, unknown>[]) {
        const id = String(raw.id);
        const kept = existing.find((a) => a.id === id);
        if (kept) {
          result.push(kept);
          continue;
        }
        const file = byIndex.get(id);
        if (!file) throw Errors.invalidForm(fieldError(['attachments', id], 'ATTACHMENT_NOT_FOUND', `Attachment data not found`));
        result.push(create(file, raw));
      }
    } else {
      result.push(...existing);
    }
    for (const file of files) if (!used.has(file)) result.push(create(file, {}));
    return result;
  }

  /** Discord adds `type: 'rich'` and rewrites `attachment://name` to the uploaded file's URL. */
  private normalizeEmbeds(embeds: unknown, attachments: APIAttachment[]): APIEmbed[] {
    if (!Array.isArray(embeds)) return [];
    const resolve = (holder: unknown, key: string): void => {
      if (!holder || typeof holder !== 'object') return;
      const obj = holder as Record<string, unknown>;
      const value = obj[key];
      if (typeof value !== 'string' || !value.startsWith('attachment://')) return;
      const att = attachments.find((a) => a.filename === value.slice('attachment://'.length));
      if (att) {
        obj[key] = att.url;
        obj[key === 'url' ? 'proxy_url' : 'proxy_icon_url'] = att.proxy_url;
      }
    };
    return embeds.map((raw: Record<string, unknown>) => {
      const embed: Record<string, unknown> = structuredClone({ type: 'rich', ...raw });
      resolve(embed.image, 'url');
      resolve(embed.thumbnail, 'url');
      resolve(embed.author, 'icon_url');
      resolve(embed.footer, 'icon_url');
      return embed as APIEmbed;
    });
  }

  create(args: { channelId: string; author: APIUser; body: Record<string, unknown>; files: UploadedFile[]; type: MessageType; flags?: number; extra?: Partial<APIMessage> }): APIMessage {
    const { body } = args;
    const flags = (args.flags ?? 0) | (Number(body.flags ?? 0) & EDITABLE_FLAGS);
    const attachments = this.resolveAttachments([], body.attachments, args.files, args.channelId, (flags & MessageFlags.Ephemeral) !== 0);
    const message: APIMessage = {
      id: this.snowflakes.next(),
      channel_id: args.channelId,
      author: args.author,
      content: typeof body.content === 'string' ? body.content : '',
      timestamp: new Date(this.clock.now()).toISOString(),
      edited_timestamp: null,
      tts: body.tts === true,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments,
      embeds: this.normalizeEmbeds(body.embeds, attachments),
      pinned: false,
      type: args.type,
      flags,
      components: Array.isArray(body.components) ? structuredClone(body.components) : [],
      ...args.extra,
    };
    this.messages.set(message.id, { message, versions: [structuredClone(message)] });
    const channel = this.channels.get(args.channelId);
    if (channel && !(flags & MessageFlags.Ephemeral)) channel.last_message_id = message.id;
    return message;
  }

  /** Edits in place; fields absent from the body stay as they were, as with Discord's PATCH. */
  edit(id: string, body: Record<string, unknown>, files: UploadedFile[]): APIMessage {
    const stored = this.messages.get(id);
    if (!stored) throw Errors.unknownMessage();
    const prev = stored.message;
    const wasLoading = ((prev.flags ?? 0) & LOADING_FLAG) !== 0;
    const ephemeral = ((prev.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
    const attachments = 'attachments' in body || files.length > 0 ? this.resolveAttachments(prev.attachments, body.attachments, files, prev.channel_id, ephemeral) : prev.attachments;
    // Ephemeral-ness is fixed at creation; editing a deferred placeholder clears its loading flag.
    let flags = (prev.flags ?? 0) & ~LOADING_FLAG;
    if (body.flags != null) flags = (flags & MessageFlags.Ephemeral) | (Number(body.flags) & EDITABLE_FLAGS & ~MessageFlags.Ephemeral);
    const next: APIMessage = {
      ...prev,
      content: 'content' in body ? (typeof body.content === 'string' ? body.content : '') : prev.content,
      embeds: 'embeds' in body ? this.normalizeEmbeds(body.embeds, attachments) : prev.embeds,
      components: 'components' in body ? (Array.isArray(body.components) ? structuredClone(body.components) : []) : prev.components ?? [],
      attachments,
      flags,
      edited_timestamp: wasLoading ? null : new Date(this.clock.now()).toISOString(),
    };
    stored.message = next;
    stored.versions.push(structuredClone(next));
    return next;
  }

  delete(id: string): void {
    const stored = this.messages.get(id);
    if (!stored || stored.deleted) throw Errors.unknownMessage();
    // Kept (flagged) rather than dropped so tests can still inspect what was deleted.
    stored.deleted = true;
  }
}
