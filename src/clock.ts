// Time is passed in (CoreDNS's `now` "for testing", hickory's insert(query, result, now)):
// nothing below app.ts reads the clock itself, so cache expiry is tested with a manual clock.

export interface Clock {
  /** Milliseconds on a monotonic clock: cache lifetimes must not jump with the wall clock. */
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/** A clock that moves only when told to (tests). */
export class ManualClock implements Clock {
  constructor(private ms = 1_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
