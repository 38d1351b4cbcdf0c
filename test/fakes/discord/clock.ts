/** Test-controllable time and real-format snowflake ids for the fake Discord. */

/** Wall clock plus an offset tests can advance, so 3 s / 15 min deadlines need no real waiting. */
export class Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

const DISCORD_EPOCH = 1420070400000n;

/** Real-format snowflakes (17-19 digits), because @discordjs/rest only finds major parameters that look like one. */
export class Snowflakes {
  private increment = 0n;
  constructor(private readonly clock: Clock) {}
  next(): string {
    const ms = BigInt(this.clock.now()) - DISCORD_EPOCH;
    this.increment = (this.increment + 1n) & 0xfffn;
    return ((ms << 22n) | (1n << 17n) | this.increment).toString();
  }
}
