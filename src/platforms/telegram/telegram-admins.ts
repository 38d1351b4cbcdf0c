// Who is a Telegram admin: TELEGRAM_ADMIN_IDS plus the `telegram:<id>` entries of ADMIN_IDS.
import type { Env } from '../../../config/env.ts';

export function telegramAdminIds(config: Pick<Env, 'TELEGRAM_ADMIN_IDS' | 'ADMIN_IDS'>): ReadonlySet<string> {
  const qualified = config.ADMIN_IDS.filter((id) => id.startsWith('telegram:')).map((id) => id.slice('telegram:'.length));
  return new Set([...config.TELEGRAM_ADMIN_IDS, ...qualified]);
}
