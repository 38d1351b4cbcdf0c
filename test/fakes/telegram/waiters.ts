/** Promise-based "wait until the fake has seen X" machinery: scan what already happened, then re-scan on every change. */

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

export class WaitSet {
  private readonly waiters = new Set<Waiter>();

  /**
   * Resolves with the first non-undefined scan() result. Scanning history first means no race
   * between triggering an action and starting to wait. `describe` feeds the timeout message.
   */
  waitFor<T>(label: string, timeoutMs: number, scan: () => T | undefined, describe: () => string): Promise<T> {
    const found = scan();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          const value = scan();
          if (value === undefined) return;
          finish();
          resolve(value);
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.fail(new Error(`${label} timed out after ${timeoutMs} ms; ${describe()}`)), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Re-run every pending scan; called after each change to the fake's state. */
  check(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  failAll(error: Error): void {
    for (const waiter of [...this.waiters]) waiter.fail(error);
  }
}
