// Builds the services the command layer uses (config, presets, queue, quotas), once per process.
import { env as loadEnv, type Env } from '../config/env.ts';
import { loadPresets } from '../config/presets.ts';
import type { CommandServices } from './core/command.ts';
import { parseBlocklist } from './core/prompt.ts';
import { UserQuota } from './core/quota.ts';
import { RateLimiter } from './core/rate-limit.ts';
import { logger } from './core/log.ts';
import { JobEvents } from './queue/job-events.ts';
import { cogcastKey, commandConnection } from './queue/redis.ts';
import { VideoQueues } from './queue/video-queues.ts';
import { PlatformOutbounds, configuredOutbounds } from './platforms/configured-outbounds.ts';

export function createCommandServices(config: Env = loadEnv()): CommandServices & { close(): Promise<void> } {
  const presets = loadPresets(config.PRESETS_FILE);
  const redis = commandConnection(config); // its errors are logged; users hear of an outage in command replies
  // The bots' own job events (a job queued, a waiting job cancelled) reach the status message through the same
  // outbound writers as the worker's.
  const outbounds = new PlatformOutbounds({ redis, prefix: cogcastKey(config.QUEUE_NAME) });
  for (const outbound of configuredOutbounds(config)) outbounds.register(outbound);
  const queue = new VideoQueues(config, redis, presets, new JobEvents(outbounds.store, outbounds));
  const quota = new UserQuota(
    redis,
    queue.key(),
    { maxPendingPerUser: config.QUOTA_MAX_PENDING_PER_USER, maxJobsPerHour: config.QUOTA_MAX_JOBS_PER_HOUR },
    async (jobId) => ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes((await (await queue.getJob(jobId))?.getState()) ?? 'unknown'),
  );
  const log = logger('commands');
  return {
    env: config,
    presets,
    queue,
    quota,
    rateLimit: new RateLimiter(redis, queue.key(), { perUserPerMinute: config.RATE_LIMIT_PER_USER_PER_MINUTE, globalPerMinute: config.RATE_LIMIT_GLOBAL_PER_MINUTE }),
    blocklist: parseBlocklist(config.PROMPT_BLOCKLIST),
    redis,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
