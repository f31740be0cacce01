import { describe, expect, it } from 'vitest';
import { POOL_BYTES, randomBytes, randomU16 } from '../../src/random.js';

describe('random (query IDs, 0x20 case)', () => {
  it('gives 16-bit IDs across several refills of the pool, spread over the whole range', () => {
    const n = 3 * (POOL_BYTES / 2) + 7; // crosses three refills
    const seen = new Set<number>();
    const highBytes = new Set<number>();
    let odd = 0;
    for (let i = 0; i < n; i++) {
      const id = randomU16();
      expect(Number.isInteger(id) && id >= 0 && id <= 0xffff).toBe(true);
      seen.add(id);
      highBytes.add(id >> 8);
      odd += id & 1;
    }
    // 6,151 draws from 65,536 values: about 290 repeats are expected; a stuck or short pool
    // (the same bytes again after a refill) gives thousands.
    expect(seen.size).toBeGreaterThan(n - 600);
    expect(highBytes.size).toBeGreaterThan(250);
    expect(odd / n).toBeGreaterThan(0.45);
    expect(odd / n).toBeLessThan(0.55);
  });

  it('gives random bytes in buffers of their own, across a refill', () => {
    const a = randomBytes(POOL_BYTES - 1);
    const b = randomBytes(16); // does not fit in what is left: a refill
    const c = randomBytes(16);
    expect(a.length).toBe(POOL_BYTES - 1);
    expect(b.equals(c)).toBe(false);
    b.fill(0);
    expect(c.some((x) => x !== 0)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(200);
  });

  it('refuses more than a pool at a time', () => {
    expect(() => randomBytes(POOL_BYTES + 1)).toThrow(RangeError);
  });
});
