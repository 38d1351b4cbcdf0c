// Each web user's recent jobs, newest first: a short list in Redis beside the queue, so every bot process
// serving the page shows the same clips.
import type { Redis } from 'ioredis';
import type { VideoQueues } from '../../queue/video-queues.ts';

const KEEP = 20;
const TTL_S = 30 * 24 * 3600;

export class WebClips {
  constructor(
    private readonly redis: Redis,
    private readonly queue: Pick<VideoQueues, 'key'>,
  ) {}

  private key(userId: string): string {
    return this.queue.key('web', 'clips', userId);
  }

  async add(userId: string, jobId: string): Promise<void> {
    await this.redis.multi().lpush(this.key(userId), jobId).ltrim(this.key(userId), 0, KEEP - 1).expire(this.key(userId), TTL_S).exec();
  }

  async recent(userId: string): Promise<string[]> {
    return this.redis.lrange(this.key(userId), 0, KEEP - 1);
  }
}
