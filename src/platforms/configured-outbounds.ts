// The one registry through which the worker and the bots reach the platforms' outbound side: which outbounds
// this process has, and one StatusWriter per platform, the only writer of that platform's status messages.
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Env } from '../../config/env.ts';
import type { Platform } from '../core/chat-context.ts';
import { logger } from '../core/log.ts';
import type { JobStatus, JobStatusSink } from '../queue/job-events.ts';
import { JobStatusStore } from '../queue/job-status-store.ts';
import { CHAT_PLATFORMS } from './chat-platforms.ts';
import { LocalFileDelivery } from './cli/local-file-delivery.ts';
import type { PlatformOutbound, StatusSlot } from './platform.ts';
import { RedisPacer } from './redis-pacer.ts';
import { StatusWriter } from './status-writer.ts';

/** The outbound sides of the chat platforms whose tokens are configured (the CLI's local file is added by the worker). */
export function configuredOutbounds(config: Env): PlatformOutbound[] {
  return CHAT_PLATFORMS.filter((p) => p.configured(config)).map((p) => p.outbound(config));
}

export interface PlatformOutboundsOptions {
  redis: Redis;
  /** The queue's key prefix: status records and paces live beside the queue. */
  prefix: string;
  log?: Logger;
}

/** Routes each job to its platform's outbound, and each status that advanced to that platform's writer. */
export class PlatformOutbounds implements JobStatusSink {
  readonly store: JobStatusStore;
  private readonly pacer: RedisPacer;
  private readonly byPlatform = new Map<Platform, { outbound: PlatformOutbound; writer: StatusWriter | null }>();
  private readonly log: Logger;

  constructor(private readonly opts: PlatformOutboundsOptions) {
    this.store = new JobStatusStore(opts.redis, opts.prefix);
    this.pacer = new RedisPacer(opts.redis, opts.prefix);
    this.log = opts.log ?? logger('outbound');
  }

  register(outbound: PlatformOutbound): this {
    const writer = outbound.status ? new StatusWriter(outbound.status, this.store, this.pacer, { log: this.log.child({ platform: outbound.platform }) }) : null;
    this.byPlatform.set(outbound.platform, { outbound, writer });
    return this;
  }

  /** The outbound of `platform`; throws when this process has none (a worker without that platform's token). */
  for(platform: Platform): PlatformOutbound {
    const entry = this.byPlatform.get(platform);
    if (!entry) throw new Error(`no outbound configured for platform "${platform}" in this process`);
    return entry.outbound;
  }

  /** The status message's writer as a slot for deliveries that write the message themselves (Discord). */
  slotFor(platform: Platform): StatusSlot | undefined {
    return this.byPlatform.get(platform)?.writer ?? undefined;
  }

  async statusChanged(status: JobStatus): Promise<void> {
    await this.byPlatform.get(status.delivery.platform)?.writer?.statusChanged(status);
  }
}

/** The worker's registry: the CLI's local file always, plus the given platform outbounds. */
export function workerOutbounds(config: Env, opts: PlatformOutboundsOptions, outbounds: PlatformOutbound[]): PlatformOutbounds {
  const registry = new PlatformOutbounds(opts).register(new LocalFileDelivery(resolve(config.OUTPUT_DIR)));
  for (const outbound of outbounds) registry.register(outbound);
  return registry;
}
