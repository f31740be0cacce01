// Prefetch (resolver.ts, cache.ts) with a manual clock and a scripted upstream: a popular answer
// hit in the last tenth of its lifetime is refreshed in the background while the client gets
// the cached answer at once; not on a first hit, not earlier, once per key, not with
// Prefetch=no, and a failed refresh leaves the answer to expire as it would.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Resolver } from '../../src/resolver.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { UpstreamHealth } from '../../src/upstream/health.js';
import { toUpstreamServer } from '../../src/upstream/server.js';
import { DnsCache } from '../../src/cache/cache.js';
import { ManualClock } from '../../src/clock.js';
import { newStats } from '../../src/stats.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { handled, scriptedUdp } from '../helpers/pipeline.js';

function setup(o: { prefetch?: boolean; fail?: () => boolean; maxInflight?: number } = {}) {
  const clock = new ManualClock();
  const stats = newStats();
  let asked = 0;
  let release: Array<() => void> = [];
  const udp = async (_s: unknown, q: Buffer) => {
    asked++;
    const ip = `192.0.2.${asked}`;
    // The refresh waits until the test lets it go, so "in flight" can be observed.
    if (asked > 1) await new Promise<void>((r) => release.push(r));
    if (o.fail?.()) return replyTo(q, { rcode: 'SERVFAIL' });
    return replyTo(q, { answers: [a(decode(q).questions![0]!.name, ip, 100)] });
  };
  const pool = new UpstreamPool(
    { attemptTimeoutMs: 1000, queryTimeoutMs: 1000, ednsUdpSize: 1232, ttl: { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 } },
    { health: new UpstreamHealth([toUpstreamServer({ family: 4, address: '192.0.2.53', port: 53 })], clock), udp: scriptedUdp(udp), tcp: udp, clock, log: pino({ level: 'silent' }), stats },
  );
  const cache = new DnsCache({ maxEntries: 100, clock });
  const resolver = new Resolver(
    { maxUdpSize: 1232, maxInflight: o.maxInflight ?? 100, failureTtlSec: 5, prefetch: o.prefetch ?? true },
    { cache, upstream: pool, clock, log: pino({ level: 'silent' }), stats },
  );
  const ask = async (name = 'www.example.test') => decode((await handled(resolver, query(name)))!);
  const settle = async () => {
    for (const r of release.splice(0)) r();
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { clock, stats, ask, settle, asked: () => asked, resolver, release: () => release };
}

describe('prefetch', () => {
  it('a second hit in the last tenth refreshes the answer in the background; the client is served from the cache at once', async () => {
    const t = setup();
    expect((await t.ask()).answers![0]).toMatchObject({ data: '192.0.2.1', ttl: 100 });
    t.clock.advance(50_000);
    await t.ask(); // hit 1, TTL 50: not yet
    t.clock.advance(41_000);
    const hit = await t.ask(); // hit 2, 9 s left of 100: prefetch
    expect(hit.answers![0]).toMatchObject({ data: '192.0.2.1', ttl: 9 });
    expect(t.asked()).toBe(2);
    expect(t.stats.prefetches).toBe(1);
    expect(t.resolver.inflightCount).toBe(1);
    await t.ask(); // the same key while the refresh is in flight: no second one
    expect(t.asked()).toBe(2);
    await t.settle();
    expect(t.resolver.inflightCount).toBe(0);
    expect((await t.ask()).answers![0]).toMatchObject({ data: '192.0.2.2', ttl: 100 });
    expect(t.stats.cacheMisses).toBe(1); // only the very first question
  });

  it('no prefetch on the first hit in the last tenth, nor before it, nor with Prefetch=no', async () => {
    const t = setup();
    await t.ask();
    t.clock.advance(95_000);
    await t.ask(); // first hit, in the last tenth: a name asked once while cached is not popular
    expect(t.asked()).toBe(1);
    const off = setup({ prefetch: false });
    await off.ask();
    off.clock.advance(50_000);
    await off.ask();
    off.clock.advance(45_000);
    await off.ask();
    expect(off.asked()).toBe(1);
    expect(off.stats.prefetches).toBe(0);
  });

  it('no prefetch while the in-flight table is full (MaxInflight): clients\' misses come first', async () => {
    const t = setup({ maxInflight: 1 });
    await t.ask();
    t.clock.advance(50_000);
    await t.ask();
    t.clock.advance(41_000);
    const other = t.ask('other.example.test'); // a miss, held upstream: the table is full
    await new Promise((r) => setImmediate(r));
    expect(t.resolver.inflightCount).toBe(1);
    expect((await t.ask()).answers![0]).toMatchObject({ data: '192.0.2.1', ttl: 9 }); // due, but no room
    expect(t.stats.prefetches).toBe(0);
    await t.settle();
    await other;
    expect(t.asked()).toBe(2);
  });

  it('a failed refresh leaves the cached answer to expire as it would, no remembered failure over it', async () => {
    let failing = false;
    const t = setup({ fail: () => failing });
    await t.ask();
    t.clock.advance(50_000);
    await t.ask();
    t.clock.advance(41_000);
    failing = true;
    await t.ask();
    await t.settle();
    expect(t.stats.prefetches).toBe(1);
    expect((await t.ask()).answers![0]).toMatchObject({ data: '192.0.2.1', ttl: 9 }); // still served
    expect(t.stats.servfail).toBe(0);
  });
});
