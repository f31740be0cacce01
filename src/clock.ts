// Time is passed in (CoreDNS's `now` "for testing", hickory's insert(query, result, now)):
// nothing below app.ts reads the clock itself, so cache expiry is tested with a manual clock.

// Imported: the global `performance` is a getter, a call on every read of the clock.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Milliseconds on a monotonic clock: cache lifetimes must not jump with the wall clock. */
  now(): number;
  /** Calls fn once, ms from now on this clock. The returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** A clock that moves only when told to (tests). */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; fn: () => void }> = [];
  constructor(private ms = 1_000_000) {}
  now(): number {
    return this.ms;
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.ms + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  /** Moves time on and runs the timers that came due, earliest first. */
  advance(ms: number): void {
    this.ms += ms;
    const due = this.timers.filter((t) => t.at <= this.ms).sort((x, y) => x.at - y.at);
    this.timers = this.timers.filter((t) => t.at > this.ms);
    for (const t of due) t.fn();
  }
}
