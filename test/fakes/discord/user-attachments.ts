/** Files a user attached to a slash command: uploaded to Discord before the interaction, served back from a loopback CDN with signed, expiring URLs. */
import { createHmac, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { APIAttachment } from 'discord-api-types/v10';
import sharp from 'sharp';
import type { Clock, Snowflakes } from './clock.ts';
import { CONTENT_TYPES } from './messages.ts';

/** What a test hands the fake as the file a user picked in the client. */
export interface UserAttachmentInput {
  filename: string;
  data: Buffer;
  /** Default: from the file name's extension, as Discord guesses it. */
  contentType?: string;
}

/** Discord's signed CDN links expire (the `ex` parameter); 24 h here, as on Discord. */
const LINK_LIFETIME_S = 24 * 60 * 60;
const PATH = '/ephemeral-attachments/';

export class UserAttachments {
  private readonly byId = new Map<string, { attachment: APIAttachment; data: Buffer; expiresS: number }>();
  private readonly key = randomBytes(16);
  /** Every request to the CDN route: the attachment id asked for and the status answered. */
  readonly downloads: { id: string; status: number; at: number }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly snowflakes: Snowflakes,
  ) {}

  /** Stores the upload; width and height are set for pictures (read from the bytes), as Discord does. */
  async add(input: UserAttachmentInput, baseUrl: string, channelId: string): Promise<APIAttachment> {
    if (input.data.length === 0) throw new Error('userAttachment: Discord\'s clients upload no empty files');
    const id = this.snowflakes.next();
    const ext = input.filename.split('.').pop()?.toLowerCase() ?? '';
    const contentType = input.contentType ?? CONTENT_TYPES[ext];
    const meta = contentType?.startsWith('image/') ? await sharp(input.data).metadata().catch(() => null) : null;
    const issuedS = Math.floor(this.clock.now() / 1000);
    const expiresS = issuedS + LINK_LIFETIME_S;
    const path = `${PATH}${channelId}/${id}/${encodeURIComponent(input.filename)}`;
    const query = `ex=${expiresS.toString(16)}&is=${issuedS.toString(16)}&hm=${this.sign(id, expiresS)}&`;
    const url = `${baseUrl}${path}?${query}`;
    const attachment: APIAttachment = {
      id,
      filename: input.filename,
      size: input.data.length,
      url,
      proxy_url: url.replace(PATH, `/proxy${PATH}`),
      ...(contentType ? { content_type: contentType } : {}),
      ...(meta?.width && meta.height ? { width: meta.width, height: meta.height } : {}),
      ephemeral: true,
    };
    this.byId.set(id, { attachment, data: input.data, expiresS });
    return structuredClone(attachment);
  }

  get(id: string): APIAttachment | undefined {
    const entry = this.byId.get(id);
    return entry ? structuredClone(entry.attachment) : undefined;
  }

  /** True when `pathname` is the CDN route (direct or proxied); answers it. */
  serve(pathname: string, query: URLSearchParams, res: ServerResponse): boolean {
    const match = /^(?:\/proxy)?\/ephemeral-attachments\/[^/]+\/([^/]+)\/[^/]+$/.exec(pathname);
    if (!pathname.startsWith(PATH) && !pathname.startsWith(`/proxy${PATH}`)) return false;
    const entry = match ? this.byId.get(match[1]!) : undefined;
    const expiresS = Number.parseInt(query.get('ex') ?? '', 16);
    // Unsigned, tampered or expired links get the CDN's plain 404 ("This content is no longer available.").
    const valid = entry !== undefined && expiresS === entry.expiresS && query.get('hm') === this.sign(entry.attachment.id, expiresS) && this.clock.now() / 1000 < expiresS;
    this.downloads.push({ id: match?.[1] ?? '', status: valid ? 200 : 404, at: Date.now() });
    if (!valid) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('This content is no longer available.');
      return true;
    }
    res.writeHead(200, { 'Content-Type': entry.attachment.content_type ?? 'application/octet-stream', 'Content-Length': entry.data.length });
    res.end(entry.data);
    return true;
  }

  private sign(id: string, expiresS: number): string {
    return createHmac('sha256', this.key).update(`${id}:${expiresS}`).digest('hex');
  }
}
