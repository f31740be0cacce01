// The allocation-free helpers of the miss path (issue 13): copyBytes (dns/copy.ts) must copy
// exactly what Buffer#copy copies, on both sides of its byte-loop limit, and NameScratch
// (dns/name.ts) must give back every name exactly, and key it as lowerKey does (checked here
// against a plain ASCII lowercasing of our own).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copyBytes } from '../../src/dns/copy.js';
import { NameScratch, WireError, lowerKey, nameEnd, questionKey, readNameKey } from '../../src/dns/name.js';

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
