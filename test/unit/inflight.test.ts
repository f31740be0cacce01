// The in-flight table's storage (src/inflight.ts) against a Map as the model: any sequence
// of sets and deletes, colliding hashes included, leaves the same entries findable.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyTable } from '../../src/inflight.js';

describe('KeyTable', () => {
  it('agrees with a Map through any sequence of sets and deletes, across growth', () => {
    // Few distinct keys, many operations: runs collide, grow, and shift back on delete.
    const key = fc.integer({ min: 0, max: 300 }).map((n) => `k${n}\u0001\u0001\u0000`);
    const op = fc.tuple(fc.constantFrom('set', 'set', 'delete'), key, fc.integer());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const t = new KeyTable<number>();
        const m = new Map<string, number>();
        for (const [what, k, v] of ops) {
          if (what === 'set') {
            t.set(k, v);
            m.set(k, v);
          } else {
            expect(t.delete(k)).toBe(m.delete(k));
          }
          expect(t.size).toBe(m.size);
        }
        for (let n = 0; n <= 300; n++) {
          const k = `k${n}\u0001\u0001\u0000`;
          expect(t.get(k)).toBe(m.get(k));
          expect(t.has(k)).toBe(m.has(k));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('empties back to nothing and fills again', () => {
    const t = new KeyTable<string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) t.set(`n${i}`, `v${i}`);
      expect(t.size).toBe(1000);
      expect(t.get('n999')).toBe('v999');
      for (let i = 0; i < 1000; i++) t.delete(`n${i}`);
      expect(t.size).toBe(0);
      expect(t.get('n0')).toBeUndefined();
    }
  });
});
