/**
 * Webhook mode: POSTs queued updates to the bot's URL one at a time, confirming each on a 2xx and
 * retrying with backoff otherwise, and hands any method call the bot wrote into the response body
 * (telegraf's webhookReply) back to the server to execute, as Telegram does.
 */

import http from 'node:http';
import type { UpdateQueue } from './update-queue.ts';
import type { WebhookDelivery } from './types.ts';

export interface WebhookConfig {
  url: string;
  secretToken?: string;
  maxConnections: number;
  ipAddress?: string;
}

export interface WebhookReply {
  contentType: string | undefined;
  body: Buffer;
}

export interface WebhookSenderOptions {
  retryDelayMs: number;
  timeoutMs: number;
  onReply: (reply: WebhookReply) => Promise<void>;
  onDelivery: (delivery: WebhookDelivery) => void;
}

interface PostResult {
  ok: boolean;
  status?: number;
  error?: string;
  reply?: WebhookReply;
}

export class WebhookSender {
  config: WebhookConfig | undefined;
  private running = false;
  private stopped = false;
  private inFlight: http.ClientRequest | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly queue: UpdateQueue,
    private readonly options: WebhookSenderOptions,
  ) {
    queue.onChange(() => this.kick());
  }

  set(config: WebhookConfig | undefined): void {
    this.config = config;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.config = undefined;
    this.inFlight?.destroy();
    this.wake?.();
  }

  private kick(): void {
    if (!this.running && !this.stopped && this.config !== undefined && this.queue.size > 0) void this.loop();
  }

  /** Sequential on purpose: tests get updates in order (Telegram may use up to max_connections in parallel). */
  private async loop(): Promise<void> {
    this.running = true;
    let failures = 0;
    try {
      while (!this.stopped && this.config !== undefined) {
        const update = this.queue.peek(1)[0];
        if (update === undefined) break;
        const config = this.config;
        const result = await this.post(config, JSON.stringify(update));
        if (this.stopped) break;
        this.options.onDelivery({
          updateId: update.update_id,
          url: config.url,
          ok: result.ok,
          ...(result.status !== undefined ? { status: result.status } : {}),
          ...(result.error !== undefined ? { error: result.error } : {}),
          at: Date.now(),
        });
        if (result.ok) {
          failures = 0;
          this.queue.confirm(update.update_id + 1);
          if (result.reply !== undefined && result.reply.body.length > 0) await this.options.onReply(result.reply);
          continue;
        }
        failures++;
        await this.sleep(Math.min(this.options.retryDelayMs * 2 ** (failures - 1), 5000));
      }
    } finally {
      this.running = false;
    }
    // An update may have arrived between the last peek and running=false.
    this.kick();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /**
   * Telegram requires https URLs; there is no TLS on loopback, so an https:// URL is delivered to
   * over plain HTTP at the same host, port and path.
   */
  private post(config: WebhookConfig, body: string): Promise<PostResult> {
    const target = new URL(config.url);
    const port = target.port !== '' ? Number(target.port) : target.protocol === 'https:' ? 443 : 80;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    if (config.secretToken !== undefined) headers['x-telegram-bot-api-secret-token'] = config.secretToken;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: PostResult) => {
        if (settled) return;
        settled = true;
        this.inFlight = undefined;
        resolve(result);
      };
      const req = http.request(
        {
          host: target.hostname,
          port,
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          headers,
          // A fresh connection per update: nothing pooled outlives stop().
          agent: false,
          timeout: this.options.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => finish({ ok: false, error: error.message }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              finish({ ok: true, status, reply: { contentType: res.headers['content-type'], body: Buffer.concat(chunks) } });
            } else {
              finish({ ok: false, status, error: `Wrong response from the webhook: ${status} ${res.statusMessage ?? ''}`.trim() });
            }
          });
        },
      );
      this.inFlight = req;
      req.on('timeout', () => {
        finish({ ok: false, error: 'Read timeout expired' });
        req.destroy();
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        finish({ ok: false, error: error.code === 'ECONNREFUSED' ? 'Connection refused' : error.message });
      });
      req.end(body);
    });
  }
}
