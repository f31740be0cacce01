// The cache's storage (issue 13): size classes, slabs and free lists, the key encoding, the
// slot index, and a model-checked property: whatever is stored, replaced, evicted, expired
// or flushed, every hit returns exactly the bytes last stored for its key.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DnsCache, ENTRY_OVERHEAD_BYTES } from '../../src/cache/cache.js';
import { MAX_BLOCK_BYTES, SLAB_BYTES, SlabStore, classBytes, sizeClass } from '../../src/cache/slab.js';
import { keyEquals, keyHash, keyLength, readKey, writeKey } from '../../src/cache/key.js';
import { MAX_SLOTS, SlotIndex } from '../../src/cache/slots.js';
import { ManualClock } from '../../src/clock.js';
import { packedAnswerLength, type Answer } from '../../src/dns/answer.js';
import { runs } from '../helpers/mutations.js';

/**
 * An answer of `len` wire bytes whose content says which it is (`seed`), TTL offsets spread over
 * it, and no question (questionEnd 12).
 */
function answer(len: number, seed: number, ttlSec = 60, ttlCount = Math.min(4, Math.floor((len - 12) / 16))): Answer {
  const wire = Buffer.alloc(len);
  for (let i = 0; i < len; i++) wire[i] = (seed * 31 + i * 7) & 0xff;
  const ttlOffsets = Array.from({ length: ttlCount }, (_, i) => 12 + Math.floor(((len - 16) * i) / Math.max(1, ttlCount)));
  return { wire, questionEnd: 12, ttlOffsets, ttlSec, rcode: seed & 3, kind: 'positive', cacheable: true };
}

/** What the cache should keep of an answer (answer.ts, PackedAnswer): flags, counts, records. */
function packed(a: Answer): Buffer {
  return Buffer.concat([a.wire.subarray(2, 4), a.wire.subarray(6, 12), a.wire.subarray(a.questionEnd)]);
}

/** What the cache holds for `key`, read back from its bytes; null when it has no live answer. */
function storedFor(c: DnsCache, key: string): { stored: Buffer; ttlOffsets: number[]; rcode: number } | null {
  const hit = c.get(key);
  if (!hit || hit.failure) return null;
  const stored = Buffer.from(hit.bytes.subarray(hit.start, hit.start + hit.storedLen));
  const at = hit.start + hit.storedLen;
  const ttlOffsets = Array.from({ length: hit.ttlCount }, (_, i) => hit.bytes.readUInt16BE(at + 2 * i));
  return { stored, ttlOffsets, rcode: hit.rcode };
}

const cost = (key: string, a: Answer | null) =>
  classBytes(sizeClass(keyLength(key) + (a ? packedAnswerLength(a) : 0))) + ENTRY_OVERHEAD_BYTES;

describe('slab size classes', () => {
  it('fit every block size up to the largest: 8-byte steps to 128 bytes, then wasting at most a fifth', () => {
    let last = -1;
    const misfits: number[] = [];
    for (let n = 1; n <= MAX_BLOCK_BYTES; n++) {
      const c = sizeClass(n);
      const size = classBytes(c);
      if (!(size >= n && (n <= 128 ? size - n < 8 : size <= n * 1.25)) || (c !== last && c !== last + 1)) misfits.push(n);
      last = c;
    }
    expect(misfits).toEqual([]);
    expect(classBytes(sizeClass(MAX_BLOCK_BYTES))).toBe(MAX_BLOCK_BYTES);
    expect(SLAB_BYTES / MAX_BLOCK_BYTES).toBeGreaterThanOrEqual(12);
  });
});

describe('SlabStore', () => {
  it('hands a freed block to the next allocation of its class, and carves new ones otherwise', () => {
    const s = new SlabStore();
    const a = s.alloc(74);
    const b = s.alloc(80);
    expect(b - a).toBe(80); // both in the 80-byte class, side by side
    expect(s.alloc(72) % SLAB_BYTES).toBe(0); // the 72-byte class carves a slab of its own
    s.alloc(72);
    s.free(a, 74);
    expect(s.alloc(73)).toBe(a);
    expect(s.alloc(79)).toBe(b + 80);
    expect(s.usedBytes).toBe(3 * 80 + 2 * 72);
    s.alloc(200);
    expect(s.reservedBytes).toBe(3 * SLAB_BYTES); // one slab per class in use
    s.clear();
    expect(s.reservedBytes).toBe(0);
    expect(s.usedBytes).toBe(0);
  });

  it('opens a new slab when a class has carved its slab to the end', () => {
    const s = new SlabStore();
    const per = Math.floor(SLAB_BYTES / MAX_BLOCK_BYTES);
    for (let i = 0; i < per; i++) s.alloc(MAX_BLOCK_BYTES);
    expect(s.reservedBytes).toBe(SLAB_BYTES);
    const h = s.alloc(MAX_BLOCK_BYTES);
    expect(s.reservedBytes).toBe(2 * SLAB_BYTES);
    expect(s.offsetOf(h)).toBe(0);
  });
});

describe('cache keys as bytes', () => {
  it('round-trip names and types above 0xfe (CAA is 257), and compare exactly', () => {
    const keys = ['\x07example\x03com\x00\x01\x01\x00', '\x03caa\x00' + String.fromCharCode(257, 1, 2), '\xff\xfe' + String.fromCharCode(0xff, 0xffff, 1, 3)];
    for (const key of keys) {
      const buf = Buffer.alloc(keyLength(key) + 2);
      writeKey(key, buf, 1);
      expect(readKey(buf, 1, keyLength(key))).toBe(key);
      expect(keyEquals(key, buf, 1, keyLength(key))).toBe(true);
      for (const other of keys) if (other !== key) expect(keyEquals(other, buf, 1, keyLength(key))).toBe(false);
      expect(keyEquals(key.slice(0, -1), buf, 1, keyLength(key))).toBe(false);
    }
    expect(keyHash(keys[0]!)).not.toBe(keyHash(keys[1]!));
  });
});

describe('SlotIndex', () => {
  it('finds every key after removals shift the probe runs back (colliding hashes)', () => {
    const names: (string | null)[] = [];
    const idx = new SlotIndex(64, (s, key) => names[s] === key);
    const put = (key: string, hash: number) => {
      const s = idx.insert(hash);
      names[s] = key;
    };
    for (let i = 0; i < 40; i++) put(`k${i}`, i % 3 === 0 ? 7 : (i * 2654435761) >>> 0);
    const hashOf = (i: number) => (i % 3 === 0 ? 7 : (i * 2654435761) >>> 0);
    for (let i = 0; i < 40; i += 2) {
      const s = idx.find(`k${i}`, hashOf(i));
      idx.remove(s);
      names[s] = null;
    }
    for (let i = 0; i < 40; i++) expect(idx.find(`k${i}`, hashOf(i)) !== -1).toBe(i % 2 === 1);
    expect(idx.size).toBe(20);
  });

  it('tells keys apart whose hashes share the home bucket, the tag (top 8 bits), or both', () => {
    const names: (string | null)[] = [];
    let compared = 0;
    const idx = new SlotIndex(64, (s, key) => {
      compared++;
      return names[s] === key;
    });
    // Same home bucket (low bits) and tag (top byte), different middles; then another tag.
    const hashes = [0xab000005, 0xab100005, 0xab200005, 0x12000005, 0x12300405];
    hashes.forEach((h, i) => (names[idx.insert(h)] = `k${i}`));
    hashes.forEach((h, i) => expect(names[idx.find(`k${i}`, h)]).toBe(`k${i}`));
    // A key in none of them: only the full hash decides, so no key comparison at all.
    compared = 0;
    expect(idx.find('absent', 0xab300005)).toBe(-1);
    expect(compared).toBe(0);
    idx.remove(idx.find('k1', hashes[1]!));
    hashes.forEach((h, i) => expect(idx.find(`k${i}`, h) !== -1).toBe(i !== 1));
  });

  it('refuses more slots than a bucket can name', () => {
    expect(() => new SlotIndex(MAX_SLOTS + 1, () => false)).toThrow(RangeError);
  });
});

describe('DnsCache storage', () => {
  it('reuses blocks after eviction: churning 20 times its capacity takes no more slabs', () => {
    const c = new DnsCache({ maxEntries: 500, clock: new ManualClock() });
    const key = (i: number) => `k${String(i).padStart(5, '0')}`; // one length: each size stays in its class
    for (let i = 0; i < 500; i++) c.storeAnswer(key(i), answer(60 + (i % 5) * 40, i));
    const reserved = c.reservedBytes;
    for (let i = 500; i < 10_500; i++) c.storeAnswer(key(i), answer(60 + (i % 5) * 40, i));
    expect(c.reservedBytes).toBe(reserved);
    expect(c.evictions).toBe(10_000);
    for (let i = 10_000; i < 10_500; i++) expect(storedFor(c, key(i))?.stored.equals(packed(answer(60 + (i % 5) * 40, i)))).toBe(true);
  });

  it('reuses blocks after expiry, and counts no eviction for expired entries removed on lookup', () => {
    const clock = new ManualClock();
    const c = new DnsCache({ maxEntries: 1000, clock });
    for (let i = 0; i < 300; i++) c.storeAnswer(`k${i}`, answer(100, i, 10));
    const reserved = c.reservedBytes;
    clock.advance(10_000);
    for (let i = 0; i < 300; i++) expect(c.get(`k${i}`)).toBeUndefined();
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
    for (let i = 0; i < 300; i++) c.storeAnswer(`n${i}`, answer(100, i, 10));
    expect(c.reservedBytes).toBe(reserved);
    expect(c.evictions).toBe(0);
  });

  it('stores answers of every size up to 65,535 wire bytes, and refuses longer ones (RFC 1035 4.2.2)', () => {
    const c = new DnsCache({ maxEntries: 100, clock: new ManualClock() });
    const sizes = [12, 13, 55, 100, 128, 129, 512, 1232, 4096, 16_000, 65_000, 65_535];
    sizes.forEach((n, i) => c.storeAnswer(`k${n}`, answer(n, i, 60, n > 4000 ? 2000 : undefined)));
    sizes.forEach((n, i) => {
      const a = answer(n, i, 60, n > 4000 ? 2000 : undefined);
      expect(storedFor(c, `k${n}`)).toEqual({ stored: packed(a), ttlOffsets: a.ttlOffsets, rcode: a.rcode });
    });
    c.storeAnswer('huge', answer(65_536, 1));
    expect(c.get('huge')).toBeUndefined();
    expect(c.size).toBe(sizes.length);
  });

  it('counts bytes as blocks plus ENTRY_OVERHEAD_BYTES, with or without a byte bound, and back to 0', () => {
    for (const maxBytes of [undefined, 1 << 20]) {
      const c = new DnsCache({ maxEntries: 100, maxBytes, clock: new ManualClock() });
      const a = answer(300, 1);
      c.storeAnswer('\x01a\x00\x01\x01\x00', a);
      c.storeFailure('\x01a\x00\x1c\x01\x00', 5);
      c.storeAnswer('\x01b\x00\x01\x01\x00', answer(40, 2));
      c.storeAnswer('\x01b\x00\x01\x01\x00', a); // replaced: counted once
      expect(c.bytes).toBe(2 * cost('\x01a\x00\x01\x01\x00', a) + cost('\x01a\x00\x1c\x01\x00', null));
      expect(c.deleteName('\x01a\x00')).toBe(2);
      expect(c.bytes).toBe(cost('\x01b\x00\x01\x01\x00', a));
      expect(c.clear()).toBe(1);
      expect(c.bytes).toBe(0);
      expect(c.reservedBytes).toBe(0);
    }
  });

  it('deletes a name whose keys hold types above 0xfe (CAA), and nothing of its subdomains', () => {
    const c = new DnsCache({ maxEntries: 10, clock: new ManualClock() });
    const name = '\x07example\x00';
    c.storeAnswer(name + String.fromCharCode(257, 1, 0), answer(50, 1));
    c.storeAnswer(name + String.fromCharCode(1, 1, 3), answer(50, 2));
    c.storeAnswer('\x03www' + name + String.fromCharCode(1, 1, 0), answer(50, 3));
    expect(c.deleteName(name)).toBe(2);
    expect(c.size).toBe(1);
  });
});

// A model of what the cache must hold: a Map in recency order (oldest first), with the same
// bounds. Operations on a small key space make replacement, eviction and reuse frequent.
type Op =
  | { op: 'store'; key: number; len: number; seed: number; ttlSec: number }
  | { op: 'fail'; key: number }
  | { op: 'get'; key: number }
  | { op: 'advance'; ms: number }
  | { op: 'delete'; key: number }
  | { op: 'clear' };

const KEYS = Array.from({ length: 24 }, (_, i) => `\x02k${String.fromCharCode(97 + (i % 8))}\x00` + String.fromCharCode(i < 16 ? 1 : 257 + i, 1, i % 4));
const nameOf = (key: string) => key.slice(0, -3);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('store' as const), key: fc.nat(23), len: fc.oneof(fc.integer({ min: 12, max: 300 }), fc.integer({ min: 300, max: 9000 }), fc.constantFrom(60_000, 65_535)), seed: fc.nat(1000), ttlSec: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fail' as const), key: fc.nat(23) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.nat(23) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat(23) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

describe('DnsCache against a model (property)', () => {
  it('every hit returns the bytes last stored for its key; bounds, counts and evictions match the model', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.option(fc.integer({ min: 1_000, max: 300_000 })), fc.array(opArb, { maxLength: 120 }), (maxEntries, maxBytesOrNull, ops) => {
        const maxBytes = maxBytesOrNull ?? undefined;
        const clock = new ManualClock();
        const c = new DnsCache({ maxEntries, maxBytes, clock });
        const model = new Map<string, { a: Answer | null; cost: number; expires: number }>();
        let used = 0;
        let evictions = 0;
        const drop = (k: string) => {
          used -= model.get(k)!.cost;
          model.delete(k);
        };
        for (const o of ops) {
          if (o.op === 'store' || o.op === 'fail') {
            const key = KEYS[o.key]!;
            const a = o.op === 'store' ? answer(o.len, o.seed, o.ttlSec) : null;
            const ttlSec = a ? a.ttlSec : 5;
            if (a) c.storeAnswer(key, a);
            else c.storeFailure(key, ttlSec);
            if (model.has(key)) drop(key);
            const k = cost(key, a);
            if (k > (maxBytes ?? Infinity)) continue;
            while (model.size >= maxEntries || used + k > (maxBytes ?? Infinity)) {
              drop(model.keys().next().value!);
              evictions++;
            }
            model.set(key, { a, cost: k, expires: clock.now() + ttlSec * 1000 });
            used += k;
          } else if (o.op === 'get') {
            const key = KEYS[o.key]!;
            const m = model.get(key);
            const hit = c.get(key);
            if (m && m.expires > clock.now()) {
              expect(hit).toBeDefined();
              expect(hit!.failure).toBe(m.a === null);
              if (m.a) expect(storedFor(c, key)).toEqual({ stored: packed(m.a), ttlOffsets: m.a.ttlOffsets, rcode: m.a.rcode });
              model.delete(key);
              model.set(key, m); // now the most recently used
            } else {
              expect(hit).toBeUndefined();
              if (m) drop(key);
            }
          } else if (o.op === 'advance') {
            clock.advance(o.ms);
          } else if (o.op === 'delete') {
            const name = nameOf(KEYS[o.key]!);
            const doomed = [...model.keys()].filter((k) => nameOf(k) === name);
            expect(c.deleteName(name)).toBe(doomed.length);
            doomed.forEach(drop);
          } else {
            expect(c.clear()).toBe(model.size);
            model.clear();
            used = 0;
          }
          expect(c.size).toBe(model.size);
          expect(c.bytes).toBe(used);
          expect(c.evictions).toBe(evictions);
        }
        // Finally every live entry, read back: nothing was overwritten by another's block.
        for (const [key, m] of model) {
          if (m.a && m.expires > clock.now()) expect(storedFor(c, key)?.stored.equals(packed(m.a))).toBe(true);
        }
      }),
      { numRuns: runs(300) },
    );
  });
});
