/** The bot's pending-update queue with getUpdates semantics: offsets confirm, limit caps, timeout long-polls, one poller at a time. */

import { ApiError, conflict } from './errors.ts';
import type { TgUpdate, UpdateKind } from './types.ts';

/** What an empty allowed_updates list means: everything except these opt-in kinds. */
const OPT_IN_KINDS = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

interface Poller {
  limit: number;
  finish(result: TgUpdate[] | ApiError | Error): void;
}

export class UpdateQueue {
  private pending: TgUpdate[] = [];
  private nextUpdateId: number;
  private allowed: Set<string> | undefined;
  private poller: Poller | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(firstUpdateId: number) {
    this.nextUpdateId = firstUpdateId;
  }

  /** Called after any change (enqueue, confirmation, a poll starting); used by waiters and the webhook sender. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Creates an update unless allowed_updates filters its kind out (Telegram then never creates it). */
  enqueue(kind: UpdateKind, payload: NonNullable<TgUpdate[UpdateKind]>): TgUpdate | undefined {
    if (!this.accepts(kind)) return undefined;
    const update = { update_id: this.nextUpdateId++, [kind]: payload } as TgUpdate;
    this.pending.push(update);
    const poller = this.poller;
    if (poller !== undefined) poller.finish(this.peek(poller.limit));
    this.changed();
    return update;
  }

  accepts(kind: string): boolean {
    return this.allowed === undefined ? !OPT_IN_KINDS.has(kind) : this.allowed.has(kind);
  }

  /** allowed_updates as getUpdates/setWebhook take it: [] resets to the default set. */
  setAllowedUpdates(kinds: string[]): void {
    this.allowed = kinds.length === 0 ? undefined : new Set(kinds);
  }

  allowedUpdates(): string[] | undefined {
    return this.allowed === undefined ? undefined : [...this.allowed];
  }

  get size(): number {
    return this.pending.length;
  }

  peek(limit: number): TgUpdate[] {
    return this.pending.slice(0, limit);
  }

  /**
   * getUpdates offset semantics: every update with update_id < offset is confirmed and forgotten;
   * a negative offset keeps only the last |offset| updates.
   */
  confirm(offset: number): void {
    const before = this.pending.length;
    if (offset < 0) this.pending = this.pending.slice(offset);
    else this.pending = this.pending.filter((u) => u.update_id >= offset);
    if (this.pending.length !== before) this.changed();
  }

  dropAll(): void {
    if (this.pending.length === 0) return;
    this.pending = [];
    this.changed();
  }

  /**
   * One long poll. A second poll terminates the first with 409 (what Telegram does when two bot
   * instances poll at once); the poll ends early when an update arrives, the client disconnects
   * (signal) or cancel() is called.
   */
  poll(limit: number, timeoutSeconds: number, signal: AbortSignal): Promise<TgUpdate[]> {
    this.cancel(conflict('terminated by other getUpdates request; make sure that only one bot instance is running'));
    const ready = this.peek(limit);
    if (ready.length > 0 || timeoutSeconds <= 0) return Promise.resolve(ready);
    return new Promise<TgUpdate[]>((resolve, reject) => {
      const timer = setTimeout(() => poller.finish([]), timeoutSeconds * 1000);
      // Never keep a test process alive just for an idle poll.
      timer.unref();
      const onAbort = () => poller.finish(new Error('client disconnected'));
      const poller: Poller = {
        limit,
        finish: (result) => {
          if (this.poller !== poller) return;
          this.poller = undefined;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (Array.isArray(result)) resolve(result);
          else reject(result);
        },
      };
      this.poller = poller;
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      // Lets waitForPolling() observe that a bot is now holding a poll.
      this.changed();
    });
  }

  /** Ends a held poll: with an error (409 on setWebhook), or with an empty result when undefined. */
  cancel(error?: ApiError): void {
    this.poller?.finish(error ?? []);
  }

  get polling(): boolean {
    return this.poller !== undefined;
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
