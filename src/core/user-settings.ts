// A user's remembered defaults (/settings): preset, negative prompt, language, stats full or short; one Redis hash each.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { cogcastKey } from '../queue/redis.ts';
import { LOCALES } from './locale.ts';

export const userSettingsSchema = z.object({
  preset: z.string().min(1).optional(),
  negativePrompt: z.string().min(1).optional(),
  language: z.enum(LOCALES).optional(),
  stats: z.enum(['full', 'short']).optional(),
});
export type UserSettings = z.infer<typeof userSettingsSchema>;
export const SETTING_NAMES = ['preset', 'negativePrompt', 'language', 'stats'] as const satisfies readonly (keyof UserSettings)[];

/** Settings by user (`platform:id`) under the deployment's prefix (`cogcast:<queue>`), kept until reset. */
export class UserSettingsStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(user: string): string {
    return `${this.prefix}:settings:${user}`;
  }

  /** What `user` chose; fields that no longer parse (an edited hash) are dropped, never shown or used. */
  async get(user: string): Promise<UserSettings> {
    const raw = await this.redis.hgetall(this.key(user));
    const settings: UserSettings = {};
    for (const name of SETTING_NAMES) {
      const one = userSettingsSchema.shape[name].safeParse(raw[name]);
      if (one.success && one.data !== undefined) Object.assign(settings, { [name]: one.data });
    }
    return settings;
  }

  /** Sets the given fields; `null` forgets one. */
  async update(user: string, changes: { [K in keyof UserSettings]?: UserSettings[K] | null }): Promise<UserSettings> {
    const set: Record<string, string> = {};
    const unset: string[] = [];
    for (const name of SETTING_NAMES) {
      const value = changes[name];
      if (value === null) unset.push(name);
      else if (value !== undefined) set[name] = value;
    }
    const multi = this.redis.multi();
    if (Object.keys(set).length > 0) multi.hset(this.key(user), set);
    if (unset.length > 0) multi.hdel(this.key(user), ...unset);
    await multi.exec();
    return this.get(user);
  }

  async reset(user: string): Promise<void> {
    await this.redis.del(this.key(user));
  }
}

/** The store of this deployment (its queue's prefix), over the commands' Redis connection. */
export function userSettingsStore(services: { redis: Redis; env: { QUEUE_NAME: string } }): UserSettingsStore {
  return new UserSettingsStore(services.redis, cogcastKey(services.env.QUEUE_NAME));
}
