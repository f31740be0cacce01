// The allocation-free helpers of the miss path (issue 13): copyBytes (dns/copy.ts) must copy
// exactly what Buffer#copy copies, on both sides of its byte-loop limit; read16/read32/write16/
// write32 (dns/bytes.ts) must read and write what Buffer's methods do, and refuse (RangeError)
// what they refuse: an offset outside the bytes, a value that does not fit; NameScratch
// (dns/name.ts) must give back every name exactly, and key it as lowerKey does (checked here
// against a plain ASCII lowercasing of our own).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copyBytes } from '../../src/dns/copy.js';
import { read16, read32, write16, write32 } from '../../src/dns/bytes.js';
import { WireWriter } from '../../src/dns/writer.js';
import { NameScratch, WireError, lowerKey, nameEnd, questionKey, readNameKey } from '../../src/dns/name.js';

describe('read16, read32, write16, write32', () => {
  it('read what Buffer#readUInt16BE/readUInt32BE read, and throw where they throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), fc.integer({ min: -3, max: 14 }), (bytes, at) => {
      const b = Buffer.from(bytes);
      const outcome = (f: () => number) => { try { return f(); } catch (e) { return e instanceof RangeError ? 'RangeError' : 'other'; } };
      expect(outcome(() => read16(b, at))).toEqual(outcome(() => b.readUInt16BE(at)));
      expect(outcome(() => read32(b, at))).toEqual(outcome(() => b.readUInt32BE(at)));
    }));
  });

  it('write what Buffer#writeUInt16BE/writeUInt32BE write, return the same offset, and throw where they throw', () => {
    const value = fc.oneof(fc.integer({ min: -2, max: 0x10001 }), fc.integer({ min: 0xfffffff0, max: 0x100000002 }), fc.constant(1.5));
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: -3, max: 12 }), value, (len, at, v) => {
      for (const [ours, theirs] of [[write16, 'writeUInt16BE'], [write32, 'writeUInt32BE']] as const) {
        const a = Buffer.alloc(len, 0xaa);
        const b = Buffer.alloc(len, 0xaa);
        const outcome = (f: () => number) => { try { return f(); } catch (e) { return e instanceof RangeError ? 'RangeError' : 'other'; } };
        expect(outcome(() => ours(a, at, v))).toEqual(outcome(() => b[theirs](v, at)));
        expect(a).toEqual(b);
      }
    }));
  });
});

describe('copyBytes', () => {
  it('copies src[start, end) to dst at `at` like Buffer#copy, short runs and long ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 700 }), fc.nat(), fc.nat(), fc.nat(), (bytes, a, b, c) => {
        const src = Buffer.from(bytes);
        const start = a % src.length;
        const end = start + (b % (src.length - start + 1));
        const dstLen = end - start + (c % 32);
        const at = c % (dstLen - (end - start) + 1);
        const ours = Buffer.alloc(dstLen, 0xee);
        const node = Buffer.alloc(dstLen, 0xee);
        copyBytes(src, start, end, ours, at);
        src.copy(node, at, start, end);
        expect(ours.equals(node)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

/** A name of random labels (any octets), uncompressed, in wire form. */
const wireName = fc
  .array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { maxLength: 8 })
  .map((labels) => Buffer.from([...labels.flatMap((l) => [l.length, ...l]), 0]));

describe('NameScratch', () => {
  it('reads an uncompressed name back byte for byte, and keys it with A-Z lowercased only (RFC 4343)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), wireName, (prefix, name) => {
        const msg = Buffer.concat([Buffer.from(prefix), name]);
        const lower = Buffer.from(name.map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c))).toString('latin1');
        const s = new NameScratch();
        expect(s.read(msg, prefix.length)).toBe(msg.length);
        expect(s.bytes.subarray(0, s.len).equals(name)).toBe(true);
        expect(s.key()).toBe(lower);
        expect(readNameKey(msg, prefix.length)).toBe(lower);
        expect(nameEnd(msg, prefix.length)).toBe(msg.length);
      }),
      { numRuns: 500 },
    );
  });

  it('follows a backward pointer, refuses a forward one, and reuses its bytes for the next name', () => {
    // "\x03WWW\x07Example\x00" at 0, then "\x04MAIL" + pointer to 4 ("Example")
    const first = Buffer.from('\x03WWW\x07Example\x00', 'latin1');
    const msg = Buffer.concat([first, Buffer.from('\x04MAIL\xc0\x04', 'latin1')]);
    const s = new NameScratch();
    expect(s.read(msg, 0)).toBe(first.length);
    expect(s.key()).toBe('\x03www\x07example\x00');
    expect(s.read(msg, first.length)).toBe(msg.length);
    expect(s.key()).toBe('\x04mail\x07example\x00');
    expect(s.len).toBe(14);
    expect(() => s.read(Buffer.from([0xc0, 0x00]), 0)).toThrow(WireError);
  });
});

describe('questionKey', () => {
  it('is the lowercase name key and the type, class and flag characters, for every type (CAA is 257)', () => {
    fc.assert(
      fc.property(wireName, fc.integer({ min: 1, max: 0xffff }), fc.constantFrom(1, 3, 255, 256), fc.integer({ min: 0, max: 3 }), (name, qtype, qclass, flags) => {
        const lower = Buffer.from(name.map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c))).toString('latin1');
        expect(questionKey(name, 0, name.length, qtype, qclass, flags)).toBe(lower + String.fromCharCode(qtype, qclass, flags));
        expect(lowerKey(name)).toBe(lower);
      }),
      { numRuns: 500 },
    );
  });
});

describe('WireWriter name compression (RFC 1035 4.1.4)', () => {
  // Names from a few labels in random case, so suffixes repeat, sometimes in another case.
  const label = fc.constantFrom('www', 'WWW', 'example', 'Example', 'com', 'a', 'mail', 'ns1', 'x'.repeat(63));
  const name = fc
    .array(label, { maxLength: 4 })
    .map((ls) => Buffer.from([...ls.flatMap((l) => [l.length, ...Buffer.from(l)]), 0]))
    .filter((n) => n.length <= 255); // RFC 1035 2.3.4: four 63-octet labels are too long

  /** The name at `at` in `msg`, pointers followed, in wire form. */
  const readBack = (msg: Buffer, at: number): Buffer => {
    const s = new NameScratch();
    s.read(msg, at);
    return Buffer.from(s.bytes.subarray(0, s.len));
  };

  it('writes every name back, pointing at the first earlier equal suffix whenever one exists', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.boolean()), { minLength: 1, maxLength: 40 }), (names) => {
        const src = Buffer.concat(names.map(([n]) => n));
        const w = new WireWriter(16); // small: the buffer grows while names are compared
        w.reset();
        w.u16(0); // something before the first name, as a header would be
        const starts: number[] = [];
        // The model: lowercase suffixes written in full, and where.
        const seen = new Map<string, number>();
        let expected = 2;
        let off = 0;
        for (const [n, compress] of names) {
          starts.push(w.length);
          const lower = n.toString('latin1').toLowerCase();
          let i = 0;
          let pointed = false;
          while (n[i] !== 0) {
            const suffix = lower.slice(i);
            if (compress && seen.has(suffix)) {
              expected += i + 2;
              pointed = true;
              break;
            }
            if (!seen.has(suffix) && expected + i <= 0x3fff) seen.set(suffix, expected + i);
            i += 1 + n[i]!;
          }
          if (!pointed) expected += n.length;
          expect(w.nameAt(src, off, compress)).toBe(off + n.length);
          off += n.length;
        }
        const out = w.finish();
        expect(out.length).toBe(expected);
        // Equal without regard to case: a pointer gives the earlier name's spelling (RFC 4343).
        const lower = (b: Buffer) => b.toString('latin1').toLowerCase();
        names.forEach(([n], k) => expect(lower(readBack(out, starts[k]!))).toBe(lower(n)));
      }),
      { numRuns: 500 },
    );
  });
});
