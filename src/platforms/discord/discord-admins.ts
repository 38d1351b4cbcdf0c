// Who counts as a cogcast admin on Discord: listed user ids (DISCORD_ADMIN_IDS, ADMIN_IDS `discord:<id>`) or admin roles.
import type { Env } from '../../../config/env.ts';

export function isDiscordAdmin(config: Pick<Env, 'ADMIN_IDS' | 'DISCORD_ADMIN_IDS' | 'DISCORD_ADMIN_ROLE_IDS'>, userId: string, roleIds: readonly string[]): boolean {
  if (config.DISCORD_ADMIN_IDS.includes(userId)) return true;
  if (config.ADMIN_IDS.includes(`discord:${userId}`)) return true;
  return roleIds.some((role) => config.DISCORD_ADMIN_ROLE_IDS.includes(role));
}
