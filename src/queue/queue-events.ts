// QueueEvents that owns its Redis connection: BullMQ never closes a connection it was handed, so an open
// connection would outlive close() and keep the process alive.
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { workerConnection } from './redis.ts';

export class OwnedQueueEvents extends QueueEvents {
  private readonly owned: Redis;

  constructor(queueName: string, redisUrl: string) {
    const connection = workerConnection(redisUrl);
    super(queueName, { connection });
    this.owned = connection;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.owned.quit().catch(() => undefined);
  }
}
