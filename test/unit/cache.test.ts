import { describe, expect, it } from 'vitest';
import { DnsCache } from '../../src/cache/cache.js';
import { ManualClock } from '../../src/clock.js';
import type { Answer } from '../../src/dns/answer.js';

const answer = (ttlSec: number, cacheable = true): Answer => ({
  wire: Buffer.alloc(12),
  questionEnd: 12,
  ttlOffsets: [],
  ttlSec,
  rcode: 0,
  kind: 'positive',
  cacheable,
});

describe('DnsCache with a manual clock', () => {
  it('counts the remaining lifetime down and expires at the TTL (RFC 1035 3.2.1)', () => {
    const clock = new ManualClock();
    const c = new DnsCache({ maxEntries: 10, clock });
    c.storeAnswer('k', answer(300));
    expect(c.get('k')?.remainingSec).toBe(300);
    clock.advance(1);
    expect(c.get('k')?.remainingSec).toBe(300); // partial seconds round up while alive
    clock.advance(99_999);
    expect(c.get('k')?.remainingSec).toBe(200);
    clock.advance(199_999);
    expect(c.get('k')?.remainingSec).toBe(1);
    clock.advance(1);
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('never stores answers marked uncacheable', () => {
    const c = new DnsCache({ maxEntries: 10, clock: new ManualClock() });
    c.storeAnswer('k', answer(300, false));
    expect(c.get('k')).toBeUndefined();
  });

  it('remembers failures for failureTtlSec only (RFC 9520 3.2)', () => {
    const clock = new ManualClock();
    const c = new DnsCache({ maxEntries: 10, clock });
    c.storeFailure('k', 5);
    expect(c.get('k')?.failure).toBe(true);
    clock.advance(5000);
    expect(c.get('k')).toBeUndefined();
    c.storeFailure('k', 0);
    expect(c.get('k')).toBeUndefined();
  });

  it('bounds the number of entries, evicting the least recently used', () => {
    const c = new DnsCache({ maxEntries: 3, clock: new ManualClock() });
    for (const k of ['a', 'b', 'c']) c.storeAnswer(k, answer(60));
    c.get('a');
    c.storeAnswer('d', answer(60));
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
  });
});

describe('DnsCache serve-stale', () => {
  it('keeps an expired answer for ServeStaleSec, and holds it after a failed refresh (RFC 8767 4)', () => {
    const clock = new ManualClock();
    const c = new DnsCache({ maxEntries: 10, staleSec: 60, clock });
    const a = { ...answer(10), wire: Buffer.from('0123456789abcdef') };
    c.storeAnswer('k', a);
    expect(c.stale('k')).toBeUndefined(); // alive: not stale
    clock.advance(10_000);
    expect(c.get('k')).toBeUndefined();
    const stale = c.stale('k')!;
    expect(stale.held).toBe(false);
    // Flags and counts (bytes 2-3 and 6-11), then the records (after byte 12): no ID, QDCOUNT or question.
    expect(stale.bytes.subarray(stale.start, stale.start + stale.storedLen).toString()).toBe('236789abcdef');
    expect(c.holdStale('k', 5)).toBe(true);
    expect(c.stale('k')?.held).toBe(true);
    clock.advance(5_000);
    expect(c.stale('k')?.held).toBe(false);
    clock.advance(55_000);
    expect(c.stale('k')).toBeUndefined();
    expect(c.holdStale('k', 5)).toBe(false);
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0); // gone once past the window
  });

  it('never keeps a remembered failure stale (RFC 9520 is not RFC 8767)', () => {
    const clock = new ManualClock();
    const c = new DnsCache({ maxEntries: 10, staleSec: 60, clock });
    c.storeFailure('k', 5);
    clock.advance(5000);
    expect(c.stale('k')).toBeUndefined();
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0);
  });
});

describe('DnsCache byte bound', () => {
  it('evicts least recently used entries to stay under maxBytes, whatever the entry count allows', () => {
    const c = new DnsCache({ maxEntries: 1000, maxBytes: 10_000, clock: new ManualClock() });
    const big = (n: number): Answer => ({ ...answer(60), wire: Buffer.alloc(n) });
    for (let i = 0; i < 50; i++) c.storeAnswer(`k${i}`, big(1000));
    expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(c.size).toBeLessThan(10);
    expect(c.get('k49')).toBeDefined();
    expect(c.get('k0')).toBeUndefined();
  });
});
