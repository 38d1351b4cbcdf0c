// SIGTERM/SIGINT for a worker process: stop (the current job finishes first), then exit 0; exit 1 if stopping fails.
import type { Logger } from 'pino';

export function exitOnSignals(log: Logger, what: string, stop: () => Promise<void>): void {
  const shutdown = (signal: string) => {
    log.info({ signal }, `shutting down: ${what}`);
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
