// The timeouts of the upstream exchanges in flight, kept by one timer. A Node Timeout per
// exchange is an object of about 120 bytes held for the whole round trip, and setTimeout and
// clearTimeout each cross into C++ for the loop's time: a waiting miss held it, and under load
// most of what a miss holds outlives a young-generation collection and is copied, then
// promoted (issue 13). Nearly every exchange waits the same attemptTimeoutMs, so they come due
// in the order they start: an exchange goes in at the tail (walking back past later deadlines
// only when its timeout is shorter), leaves from anywhere at once, and the timer is set for the
// head. When the head leaves first, as answered exchanges do, the timer is left as it is and
// set again for the new head when it fires: one wake-up per timeout at most, instead of a
// clearTimeout per exchange.

import type { Clock } from '../clock.js';

/**
 * An entry: the exchange itself (upstream/udp.ts), so that it needs no object of its own. An
 * interface with its fields, not a base class: a subclass's constructor calls super(), a
 * builtin call per exchange. Implementations start with dueAt 0, prev and next null, queued
 * false.
 */
export interface Deadline {
  /** Clock ms when expire() is due; set by Deadlines.add. */
  dueAt: number;
  prev: Deadline | null;
  next: Deadline | null;
  queued: boolean;
  /** Called once, when the deadline passes before remove(). */
  expire(): void;
}

export class Deadlines {
  private head: Deadline | null = null;
  private tail: Deadline | null = null;
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;

  constructor(private readonly clock: Clock) {}

  /** Calls d.expire() ms from now unless d is removed before. */
  add(d: Deadline, ms: number): void {
    d.dueAt = this.clock.now() + ms;
    let before = this.tail;
    while (before !== null && before.dueAt > d.dueAt) before = before.prev;
    d.prev = before;
    d.next = before === null ? this.head : before.next;
    if (d.next === null) this.tail = d;
    else d.next.prev = d;
    if (before === null) this.head = d;
    else before.next = d;
    d.queued = true;
    if (d.dueAt < this.timerAt) this.arm(d.dueAt);
  }

  /** Takes d out (it has been answered); nothing when it is not in. */
  remove(d: Deadline): void {
    if (!d.queued) return;
    d.queued = false;
    if (d.prev === null) this.head = d.next;
    else d.prev.next = d.next;
    if (d.next === null) this.tail = d.prev;
    else d.next.prev = d.prev;
    d.prev = d.next = null;
    // Nothing waits: no timer keeps the event loop (and a process that is closing) alive.
    if (this.head === null) this.disarm();
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.cancelTimer = this.clock.after(Math.max(0, at - this.clock.now()), this.fire);
  }

  private disarm(): void {
    if (this.cancelTimer === null) return;
    this.cancelTimer();
    this.cancelTimer = null;
    this.timerAt = Infinity;
  }

  private readonly fire = (): void => {
    this.cancelTimer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    // expire() may add or remove entries: the pool's next attempt, started from it, adds one.
    while (this.head !== null && this.head.dueAt <= now) {
      const d = this.head;
      this.remove(d);
      d.expire();
    }
    if (this.head !== null) this.arm(this.head.dueAt);
  };
}
