// Property tests over the wire checks and the whole in-process pipeline (issue: hostile input).
// Any bytes in: nothing throws past parseQuery or Resolver.handle, every reply is well formed,
// fits the client's limit, and carries the client's ID and question. Upstream replies may be
// anything too: the pool turns them into an answer or an UpstreamError, never a crash, and what
// is served from them is well formed. Run long with `npm run fuzz` (FUZZ_RUNS per property).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pino from 'pino';
import packet from 'dns-packet';
import { parseQuery } from '../../src/dns/query.js';
import { parseReply } from '../../src/dns/message.js';
import { Resolver } from '../../src/resolver.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { UpstreamHealth } from '../../src/upstream/health.js';
import { toUpstreamServer } from '../../src/upstream/server.js';
import { DnsCache } from '../../src/cache/cache.js';
import { ManualClock } from '../../src/clock.js';
import { newStats } from '../../src/stats.js';
import { a, cname, query, replyTo, soa, txt } from '../helpers/dns-packets.js';
import { hostile, runs } from '../helpers/mutations.js';
import { handled, scriptedUdp } from '../helpers/pipeline.js';

const querySeeds = [
  query('www.example.com'),
  query('Example.COM', 'AAAA', { edns: { udpSize: 4096, do: true } }),
  query('a.b.c.d.example.net', 'TXT', { cd: true, edns: { udpSize: 512 } }),
  query('x.test', 'MX', { rd: false }),
];
const replySeeds = (q: Buffer) => [
  replyTo(q, { answers: [a('www.example.com', '192.0.2.1')] }),
  replyTo(q, { answers: [cname('www.example.com', 'w.example.net'), a('w.example.net', '192.0.2.2', 60)] }),
  replyTo(q, { rcode: 'NXDOMAIN', authorities: [soa('example.com')] }),
  replyTo(q, { answers: [txt('www.example.com', 'hello'), a('other.test', '203.0.113.1')], additionals: [a('ns.test', '192.0.2.9')] }),
];

function pipeline(upstreamReply: (sent: Buffer) => Buffer, withCache = true) {
  const clock = new ManualClock();
  const stats = newStats();
  const log = pino({ level: 'silent' });
  const servers = [toUpstreamServer({ family: 4, address: '192.0.2.53', port: 53 })];
  const pool = new UpstreamPool(
    { attemptTimeoutMs: 50, queryTimeoutMs: 200, ednsUdpSize: 1232, ttl: { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 } },
    {
      health: new UpstreamHealth(servers, clock),
      udp: scriptedUdp(async (_s, sent) => upstreamReply(sent)),
      tcp: async (_s, sent) => upstreamReply(sent),
      clock,
      log,
      stats,
    },
  );
  return new Resolver(
    { maxUdpSize: 1232, maxInflight: 16, failureTtlSec: 5 },
    { cache: withCache ? new DnsCache({ maxEntries: 64, clock }) : null, upstream: pool, clock, log, stats },
  );
}

/** Checks a reply against the query it answers; returns nothing, throws on any violation. */
function checkReply(query: Buffer, reply: Buffer, transport: 'udp' | 'tcp'): void {
  expect(reply.length).toBeGreaterThanOrEqual(12);
  expect(reply.readUInt16BE(0)).toBe(query.readUInt16BE(0)); // the client's ID
  expect(reply[2]! & 0x80).toBe(0x80); // QR
  const v = parseQuery(query);
  const limit = transport === 'tcp' ? 65535 : v.kind === 'ok' && v.query.edns ? Math.max(512, Math.min(v.query.edns.udpSize, 1232)) : 512;
  expect(reply.length).toBeLessThanOrEqual(limit);
  if (reply.readUInt16BE(4) === 1) {
    const parsed = parseReply(reply); // our walk: framing, counts, no trailing bytes
    if (v.kind === 'ok') expect(reply.subarray(12, v.query.questionEnd).equals(query.subarray(12, v.query.questionEnd))).toBe(true);
    expect(parsed.questionEnd).toBeGreaterThan(12);
  } else {
    expect(reply.readUInt16BE(6) + reply.readUInt16BE(8)).toBe(0);
    expect(reply.length).toBe(12 + 11 * reply.readUInt16BE(10));
  }
  // An independent decoder accepts it too, unless it holds a type we pass through as opaque data
  // (RFC 3597): dns-packet knows more types than we check, and may choke on their RDATA.
  try {
    packet.decode(reply);
  } catch (e) {
    const opaque = reply.readUInt16BE(4) === 1 && parseReply(reply).records.some((r) => !CHECKED_TYPES.has(r.type));
    if (!opaque) throw e;
  }
}

/** Types whose RDATA we check or rebuild (dns/writer.ts): dns-packet must decode those. */
const CHECKED_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 16, 17, 18, 21, 26, 28, 33, 36, 39, 46]);


describe('properties: hostile queries (RFC 1035 4.1, RFC 6891, RFC 9267)', () => {
  it('parseQuery never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(hostile(querySeeds), (msg) => {
        const v = parseQuery(msg);
        expect(['ok', 'drop', 'error']).toContain(v.kind);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('Resolver.handle never throws; every reply is well formed, within the limit, with the client ID and question', async () => {
    const resolver = pipeline((sent) => replySeeds(sent)[sent[1]! % 4]!);
    await fc.assert(
      fc.asyncProperty(hostile(querySeeds), fc.constantFrom('udp' as const, 'tcp' as const), async (msg, transport) => {
        const reply = await handled(resolver, msg, transport);
        if (reply === null) {
          // Dropped: unreadable header, oversize, or a response.
          expect(msg.length < 12 || msg.length > 4096 || (msg[2]! & 0x80) !== 0).toBe(true);
          return;
        }
        checkReply(msg, reply, transport);
      }),
      { numRuns: runs(2000) },
    );
  });
});

describe('properties: hostile upstream replies (RFC 5452)', () => {
  it('whatever an upstream sends, the client gets a well-formed answer or SERVFAIL, never a crash', async () => {
    let current: Buffer = Buffer.alloc(0);
    let cases = 0;
    let answered = 0;
    // No cache: every case goes upstream. The replies are mutations of replies to these very
    // queries, so many still match and get as far as answer building.
    const resolver = pipeline((sent) => {
      const out = Buffer.from(current);
      if (out.length >= 2 && sent[0]! % 8 !== 0) sent.copy(out, 0, 0, 2); // our ID, most of the time
      return out;
    }, false);
    const queries = [querySeeds[0]!, query('www.example.com', 'A', { edns: { udpSize: 4096, do: true } })];
    await fc.assert(
      fc.asyncProperty(hostile([...replySeeds(queries[0]!), ...replySeeds(queries[1]!)]), fc.constantFrom(...queries), async (reply, q) => {
        current = reply;
        const out = await handled(resolver, q);
        expect(out).not.toBeNull();
        checkReply(q, out!, 'udp');
        cases++;
        if ((out![3]! & 0x0f) !== 2) answered++;
      }),
      { numRuns: runs(2000) },
    );
    // The property means something only if many damaged replies get past the checks into
    // answer building and serving, not just into SERVFAIL.
    expect(answered / cases).toBeGreaterThan(0.2);
  });

  it('parseReply throws only WireError', () => {
    fc.assert(
      fc.property(hostile(replySeeds(querySeeds[0]!)), (msg) => {
        try {
          parseReply(msg);
        } catch (e) {
          expect((e as Error).constructor.name).toBe('WireError');
        }
      }),
      { numRuns: runs(3000) },
    );
  });
});
