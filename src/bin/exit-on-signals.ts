// SIGTERM/SIGINT for a cogcast process: stop (the current job finishes first), then exit 0; exit 1 if stopping fails.
// Installed before anything starts, so that no signal ever meets node's default handler (an instant exit mid-job).
import type { Logger } from 'pino';

export interface ProcessStop {
  /** Names how to stop once the process is up; a signal that came while it was starting stops it now. */
  stopWith(stop: () => Promise<void>): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function exitOnSignals(log: Logger, what: string): ProcessStop {
  let stop: (() => Promise<void>) | null = null;
  let requested: string | null = null;
  let stopping = false;
  const run = () => {
    if (stopping || !stop) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    // Repeats are expected (npm forwarding a signal the terminal also sent to the whole group): the first one counts.
    if (requested) {
      log.info({ signal }, 'already shutting down: waiting for the current job');
      return;
    }
    requested = signal;
    log.info({ signal }, stop ? `shutting down: ${what}` : `shutting down once started: ${what}`);
    run();
  };
  for (const signal of SIGNALS) process.on(signal, () => onSignal(signal));
  return {
    stopWith(fn) {
      stop = fn;
      if (requested) run();
    },
  };
}
