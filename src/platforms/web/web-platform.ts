// The web page as a ChatPlatform: configured unless WEB_PORT=0; the worker's outbound keeps the clip, the bot's
// inbound serves the page (loaded lazily, so a worker never loads express routes).
import { logger } from '../../core/log.ts';
import type { ChatPlatform, RunningInbound } from '../platform.ts';
import { WebOutbound } from './web-outbound.ts';

export interface RunningWebInbound extends RunningInbound {
  /** The page's address, or null when it could not listen (then `offReason` says why). */
  url: string | null;
  offReason?: string;
  /** How to get in, for the start-up summary (token or login), or ''. */
  access?: string;
}

export const webPlatform: ChatPlatform = {
  name: 'web',
  configured: (config) => config.WEB_PORT !== 0,
  outbound: () => new WebOutbound(),
  async startInbound(config, services): Promise<RunningWebInbound> {
    const log = logger('web');
    const { startWebPlatform } = await import('./web-server.ts');
    try {
      const web = await startWebPlatform({ config, services, log });
      const access = config.WEB_TOKEN ? ' (open it once as ?token=<WEB_TOKEN>)' : config.WEB_USER ? ' (login: WEB_USER / WEB_PASSWORD)' : '';
      return { platform: 'web', url: web.url, access, stop: () => web.stop() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      // A busy port must not stop the bots and the worker: the page is off, and the start-up summary says why.
      log.error({ err: (err as Error).message }, 'web page off');
      const offReason = `cannot listen on ${config.WEB_HOST}:${config.WEB_PORT} (${code === 'EADDRINUSE' ? 'port in use' : 'not allowed'}); set WEB_PORT`;
      return { platform: 'web', url: null, offReason, stop: async () => undefined };
    }
  },
};
