// The in-flight table (src/inflight.ts) against a Map as the model: any sequence of adds and
// removes, up to its capacity, leaves the same flights findable by key, with slots reused.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Flight, FlightTable, type FlightOwner } from '../../src/inflight.js';
import type { Query } from '../../src/dns/query.js';

const owner: FlightOwner = { fetched: () => {}, fetchFailed: () => {} };
const keyOf = (n: number) => `\u0003k${n}\u0000\u0001\u0001\u0000`;
const flight = (n: number) => new Flight(owner, { key: keyOf(n) } as Query, false);

describe('FlightTable', () => {
  it('agrees with a Map through any sequence of adds and removes, within its capacity', () => {
    const CAPACITY = 40;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 120 })), { maxLength: 600 }), (ops) => {
        const t = new FlightTable(CAPACITY);
        const m = new Map<string, Flight>();
        for (const [add, n] of ops) {
          const key = keyOf(n);
          const held = m.get(key);
          if (add && held === undefined && m.size < CAPACITY) {
            const f = flight(n);
            t.add(f);
            m.set(key, f);
          } else if (!add && held !== undefined) {
            t.remove(held);
            m.delete(key);
          }
          expect(t.size).toBe(m.size);
        }
        for (let n = 0; n <= 120; n++) expect(t.get(keyOf(n))).toBe(m.get(keyOf(n)));
      }),
      { numRuns: 200 },
    );
  });

  it('empties and fills again to its capacity, round after round', () => {
    const t = new FlightTable(1000);
    for (let round = 0; round < 3; round++) {
      const all = Array.from({ length: 1000 }, (_, n) => flight(n));
      for (const f of all) t.add(f);
      expect(t.size).toBe(1000);
      expect(t.get(keyOf(999))).toBe(all[999]);
      for (const f of all) t.remove(f);
      expect(t.size).toBe(0);
      expect(t.get(keyOf(0))).toBeUndefined();
    }
  });
});
