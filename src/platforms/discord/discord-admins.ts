// Who counts as a cogcast admin on Discord: listed user ids (DISCORD_ADMIN_IDS, ADMIN_IDS `discord:<id>`) or admin roles, never
// @everyone; and who is in the priority tier through a role (DISCORD_PRIORITY_ROLE_IDS, never @everyone).
import type { Env } from '../../../config/env.ts';

type AdminConfig = Pick<Env, 'ADMIN_IDS' | 'DISCORD_ADMIN_IDS' | 'DISCORD_ADMIN_ROLE_IDS'>;

/** `guildId` is also the id of that guild's @everyone role, which every member holds: it never makes an admin. */
export function isDiscordAdmin(config: AdminConfig, userId: string, roleIds: readonly string[], guildId: string | null = null): boolean {
  if (config.DISCORD_ADMIN_IDS.includes(userId)) return true;
  if (config.ADMIN_IDS.includes(`discord:${userId}`)) return true;
  return roleIds.some((role) => role !== guildId && config.DISCORD_ADMIN_ROLE_IDS.includes(role));
}

/** The configured admin roles that are some guild's @everyone (id == guild id): ignored, and worth a start-up warning. */
export function everyoneRolesConfigured(config: Pick<Env, 'DISCORD_ADMIN_ROLE_IDS'>, guildIds: Iterable<string>): string[] {
  const guilds = new Set(guildIds);
  return config.DISCORD_ADMIN_ROLE_IDS.filter((role) => guilds.has(role));
}

/** A member of a DISCORD_PRIORITY_ROLE_IDS role (the ids of PRIORITY_IDS are checked by the command, on every platform). */
export function hasDiscordPriorityRole(config: Pick<Env, 'DISCORD_PRIORITY_ROLE_IDS'>, roleIds: readonly string[], guildId: string | null = null): boolean {
  return roleIds.some((role) => role !== guildId && config.DISCORD_PRIORITY_ROLE_IDS.includes(role));
}
