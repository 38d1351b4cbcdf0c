// One platform's outbound side driven the way the worker drives it: job events published into Redis (the
// ordered status record), shown by the platform's status writer, the clip delivered through its slot.
import { Redis } from 'ioredis';
import type { JobRequest } from '../../src/queue/job-contract.ts';
import { type JobEvent, JobEvents, type JobStatus } from '../../src/queue/job-events.ts';
import { cogcastKey } from '../../src/queue/redis.ts';
import { PlatformOutbounds } from '../../src/platforms/configured-outbounds.ts';
import type { DeliverableVideo, PlatformOutbound } from '../../src/platforms/platform.ts';

export interface StatusEvents {
  events: JobEvents;
  /** Publishes `event` for `jobId` (attempt 1 unless given); resolves at once for progress, once shown for a final stage. */
  publish(job: JobRequest, jobId: string, event: JobEvent, attempt?: number): Promise<JobStatus | null>;
  deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** `queueName` scopes the records and paces (use the test's queue, whose keys its cleanup deletes). */
export function statusEvents(outbound: PlatformOutbound, redisUrl: string, queueName: string): StatusEvents {
  const redis = new Redis(redisUrl);
  const outbounds = new PlatformOutbounds({ redis, prefix: cogcastKey(queueName) }).register(outbound);
  const events = new JobEvents(outbounds.store, outbounds);
  return {
    events,
    publish: (job, jobId, event, attempt = 1) => events.publish({ jobId, request: job }, attempt, event),
    deliver: (job, jobId, video) => outbound.deliver(job, jobId, video, outbounds.slotFor(outbound.platform)),
    async close() {
      await redis.quit();
    },
  };
}
