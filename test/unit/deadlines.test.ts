import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Deadlines, type Deadline } from '../../src/upstream/deadlines.js';

class Named implements Deadline {
  dueAt = 0;
  prev: Deadline | null = null;
  next: Deadline | null = null;
  queued = false;
  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {}
  expire(): void {
    this.log.push(this.name);
  }
}

/** A clock that counts its armed timers, to see that the list keeps one at most. */
class CountingClock extends ManualClock {
  armed = 0;
  override after(ms: number, fn: () => void): () => void {
    this.armed++;
    const cancel = super.after(ms, () => {
      this.armed--;
      fn();
    });
    return () => {
      this.armed--;
      cancel();
    };
  }
}

describe('Deadlines (the upstream exchanges\' timeouts, one timer)', () => {
  it('expires entries when due, earliest first, whatever order they were added in', () => {
    const clock = new CountingClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    d.add(new Named('a', log), 1000);
    d.add(new Named('b', log), 300); // shorter: goes before a
    d.add(new Named('c', log), 1000);
    d.add(new Named('d', log), 500);
    clock.advance(299);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['b']);
    clock.advance(200);
    expect(log).toEqual(['b', 'd']);
    clock.advance(500);
    expect(log).toEqual(['b', 'd', 'a', 'c']);
    expect(clock.armed).toBe(0);
  });

  it('never calls expire() for a removed entry, and removing twice is harmless', () => {
    const clock = new CountingClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    const a = new Named('a', log);
    const b = new Named('b', log);
    const c = new Named('c', log);
    d.add(a, 100);
    d.add(b, 100);
    d.add(c, 100);
    d.remove(b); // from the middle
    d.remove(a); // the head: the timer stays, and finds c when it fires
    d.remove(a);
    clock.advance(100);
    expect(log).toEqual(['c']);
  });

  it('keeps no timer while nothing waits, and one while anything does', () => {
    const clock = new CountingClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    const xs = Array.from({ length: 50 }, (_, i) => new Named(`x${i}`, log));
    for (const x of xs) d.add(x, 1000);
    expect(clock.armed).toBe(1);
    for (const x of xs) d.remove(x);
    expect(clock.armed).toBe(0);
    clock.advance(5000);
    expect(log).toEqual([]);
  });

  it('sets the timer again for the new head when the old head left first', () => {
    const clock = new CountingClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    const first = new Named('first', log);
    d.add(first, 100);
    clock.advance(50);
    d.add(new Named('second', log), 100); // due at 150
    d.remove(first); // answered: the timer still says 100
    clock.advance(50); // 100: nothing due, set again for 150
    expect(log).toEqual([]);
    expect(clock.armed).toBe(1);
    clock.advance(50);
    expect(log).toEqual(['second']);
  });

  it('an entry added by expire() waits its own time', () => {
    const clock = new ManualClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    class Again extends Named {
      override expire(): void {
        super.expire();
        d.add(new Named('retry', log), 100);
      }
    }
    d.add(new Again('first', log), 100);
    clock.advance(100);
    expect(log).toEqual(['first']);
    clock.advance(99);
    expect(log).toEqual(['first']);
    clock.advance(1);
    expect(log).toEqual(['first', 'retry']);
  });
});
