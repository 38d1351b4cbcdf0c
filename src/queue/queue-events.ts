// QueueEvents that owns its Redis connection: BullMQ never closes a connection it was handed, so an open
// connection would outlive close() and keep the process alive.
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { type RedisEndpoint, workerConnection } from './redis.ts';
import { logRedisErrors } from './redis-errors.ts';

export class OwnedQueueEvents extends QueueEvents {
  private readonly owned: Redis;

  constructor(queueName: string, redis: RedisEndpoint) {
    const connection = workerConnection(redis);
    super(queueName, { connection });
    this.owned = connection;
    logRedisErrors(this, 'queue events');
  }

  override async close(): Promise<void> {
    await super.close();
    await this.owned.quit().catch(() => undefined);
  }
}
