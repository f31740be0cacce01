// The whole pipeline in-process: Resolver + UpstreamPool + cache, with scripted exchange
// functions in place of sockets and a manual clock. Real sockets come in test/integration.
import { describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { LATER, Resolver } from '../../src/resolver.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { UpstreamHealth } from '../../src/upstream/health.js';
import { toUpstreamServer, type UpstreamServer } from '../../src/upstream/server.js';
import { DnsCache } from '../../src/cache/cache.js';
import { ManualClock } from '../../src/clock.js';
import { newStats } from '../../src/stats.js';
import { UpstreamError } from '../../src/errors.js';
import type { TcpExchange } from '../../src/upstream/tcp.js';
import packet from 'dns-packet';
import { a, decode, query, replyTo, txt } from '../helpers/dns-packets.js';
import { handled, scriptedUdp } from '../helpers/pipeline.js';

type Script = (server: UpstreamServer, q: Buffer) => Buffer | Error | Promise<Buffer | Error>;

function setup(opts: {
  udp: Script; tcp?: Script; servers?: number; maxInflight?: number; cache?: boolean; staleSec?: number; staleClientTimeoutMs?: number;
}) {
  const clock = new ManualClock();
  const stats = newStats();
  const log = pino({ level: 'silent' });
  const servers = Array.from({ length: opts.servers ?? 2 }, (_, i) =>
    toUpstreamServer({ family: 4, address: `192.0.2.${i + 1}`, port: 53 }),
  );
  const calls: { transport: string; server: string; q: Buffer }[] = [];
  const wrap = (transport: string, script: Script): TcpExchange => async (server, q) => {
    calls.push({ transport, server: server.label, q });
    const r = await script(server, q);
    if (r instanceof Error) throw r;
    return r;
  };
  const pool = new UpstreamPool(
    { attemptTimeoutMs: 100, queryTimeoutMs: 1000, ednsUdpSize: 1232, ttl: { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 } },
    {
      health: new UpstreamHealth(servers, clock),
      udp: scriptedUdp(wrap('udp', opts.udp)),
      tcp: wrap('tcp', opts.tcp ?? (() => new Error('no tcp'))),
      clock,
      log,
      stats,
    },
  );
  const cache = opts.cache === false ? null : new DnsCache({ maxEntries: 100, staleSec: opts.staleSec ?? 0, clock });
  const resolver = new Resolver(
    { maxUdpSize: 1232, maxInflight: opts.maxInflight ?? 100, failureTtlSec: 5, staleClientTimeoutMs: opts.staleClientTimeoutMs ?? 0 },
    { cache, upstream: pool, clock, log, stats },
  );
  const ask = async (m: Buffer, transport: 'udp' | 'tcp' = 'udp') => {
    const out = await handled(resolver, m, transport);
    return out === null ? null : decode(out);
  };
  return { clock, stats, calls, resolver, ask, cache };
}

const answerA = (ip: string, ttl = 300): Script => (_s, q) => replyTo(q, { answers: [a(decode(q).questions![0]!.name, ip, ttl)] });

/** An upstream that answers with 192.0.2.10 once release() is called. */
function gated(): { udp: Script; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    udp: async (s, q) => {
      await gate;
      return answerA('192.0.2.10')(s, q);
    },
    release,
  };
}

describe('pipeline: cache', () => {
  it('answers a repeat from the cache, TTL counted down, without asking upstream again', async () => {
    const t = setup({ udp: answerA('192.0.2.10', 300) });
    const first = await t.ask(query('www.example.com', 'A', { id: 1 }));
    expect(first!.answers![0]).toMatchObject({ data: '192.0.2.10', ttl: 300 });
    t.clock.advance(100_000);
    const second = await t.ask(query('WWW.example.com', 'A', { id: 2 }));
    expect(second!.id).toBe(2);
    expect(second!.questions![0]!.name).toBe('WWW.example.com');
    expect(second!.answers![0]).toMatchObject({ data: '192.0.2.10', ttl: 200 });
    expect(t.calls).toHaveLength(1);
    expect(t.stats.cacheHits).toBe(1);
  });

  it('serves a hit synchronously (no promise on the hot path)', async () => {
    const t = setup({ udp: answerA('192.0.2.10') });
    await t.ask(query('www.example.com'));
    const r = t.resolver.handle(query('www.example.com'), { transport: 'udp', client: 'x', address: '127.0.0.1', respond: () => {} });
    expect(Buffer.isBuffer(r)).toBe(true);
  });

  it('asks again once the entry expired', async () => {
    const t = setup({ udp: answerA('192.0.2.10', 10) });
    await t.ask(query('www.example.com'));
    t.clock.advance(10_000);
    await t.ask(query('www.example.com'));
    expect(t.calls).toHaveLength(2);
  });

  it('shares one upstream query among identical concurrent misses (in-flight table)', async () => {
    const { udp, release } = gated();
    const t = setup({ udp });
    const pending = Array.from({ length: 20 }, (_, i) => t.ask(query('www.example.com', 'A', { id: 100 + i })));
    await new Promise((r) => setImmediate(r));
    release();
    const replies = await Promise.all(pending);
    expect(t.calls).toHaveLength(1);
    expect(replies.map((r) => r!.id)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(t.stats.coalesced).toBe(19);
    expect(t.resolver.inflightCount).toBe(0);
  });

  it('gives each waiting client its late reply once, after handle() returned, even when another client\'s listener throws', async () => {
    const { udp, release } = gated();
    const t = setup({ udp });
    const got: Array<{ id: number; during: boolean }> = [];
    let inHandle = false;
    const client = (id: number, fails: boolean) => {
      const ctx = {
        transport: 'udp' as const, client: `127.0.0.1:${id}`, address: '127.0.0.1',
        respond: (reply: Buffer | null) => {
          got.push({ id: reply!.readUInt16BE(0), during: inHandle });
          if (fails) throw new Error('listener gone');
        },
      };
      inHandle = true;
      expect(t.resolver.handle(query('www.example.com', 'A', { id }), ctx)).toBe(LATER);
      inHandle = false;
    };
    client(1, true);
    client(2, false);
    client(3, true);
    release();
    await vi.waitFor(() => expect(got).toHaveLength(3));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([{ id: 1, during: false }, { id: 2, during: false }, { id: 3, during: false }]);
    expect(t.resolver.inflightCount).toBe(0);
  });

  it('keeps DO and non-DO answers apart and forwards DO upstream (RFC 3225)', async () => {
    const t = setup({ udp: answerA('192.0.2.10') });
    await t.ask(query('www.example.com'));
    await t.ask(query('www.example.com', 'A', { edns: { do: true } }));
    expect(t.calls).toHaveLength(2);
    const sent = decode(t.calls[1]!.q);
    const opt = sent.additionals!.find((r) => r.type === 'OPT') as { flags: number; udpPayloadSize: number };
    expect(opt.udpPayloadSize).toBe(1232);
    expect(opt.flags & 0x8000).toBe(0x8000);
  });
});

describe('pipeline: upstream failover (RFC 5452, RFC 7766, RFC 9520)', () => {
  it('moves to the next server on timeout', async () => {
    const t = setup({
      udp: (s, q) => (s.label === '192.0.2.1:53' ? new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', s.label, 'timeout') : answerA('192.0.2.20')(s, q)),
    });
    const r = await t.ask(query('www.example.com'));
    expect(r!.answers![0]!.data).toBe('192.0.2.20');
    expect(t.calls.map((c) => c.server)).toEqual(['192.0.2.1:53', '192.0.2.2:53']);
  });

  it('moves to the next server on SERVFAIL and REFUSED', async () => {
    for (const rcode of ['SERVFAIL', 'REFUSED'] as const) {
      const t = setup({ udp: (s, q) => (s.label === '192.0.2.1:53' ? replyTo(q, { rcode }) : answerA('192.0.2.20')(s, q)) });
      expect((await t.ask(query('www.example.com')))!.answers![0]!.data).toBe('192.0.2.20');
    }
  });

  it('moves to the next server on a malformed reply', async () => {
    const t = setup({
      udp: (s, q) => (s.label === '192.0.2.1:53' ? Buffer.concat([replyTo(q, {}), Buffer.from([0])]) : answerA('192.0.2.20')(s, q)),
    });
    expect((await t.ask(query('www.example.com')))!.answers![0]!.data).toBe('192.0.2.20');
  });

  it('asks the same server over TCP on TC=1 and never caches the truncated reply (RFC 7766 5)', async () => {
    const t = setup({
      udp: (_s, q) => replyTo(q, { tc: true }),
      tcp: (_s, q) => replyTo(q, { answers: [1, 2, 3].map((i) => txt('big.example.com', 'y'.repeat(250) + i)) }),
    });
    const r = await t.ask(query('big.example.com', 'TXT', { edns: { udpSize: 4096 } }));
    expect(r!.answers).toHaveLength(3);
    expect(t.calls.map((c) => `${c.transport} ${c.server}`)).toEqual(['udp 192.0.2.1:53', 'tcp 192.0.2.1:53']);
    expect(t.stats.tcpFallbacks).toBe(1);
  });

  it('answers SERVFAIL when every server fails, and remembers the failure briefly (RFC 9520 3.2)', async () => {
    const t = setup({ udp: (s) => new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', s.label, 'timeout') });
    const r = await t.ask(query('down.example.com', 'A', { id: 9 }));
    expect(r!.rcode).toBe('SERVFAIL');
    expect(r!.id).toBe(9);
    const tried = t.calls.length;
    expect(tried).toBe(4); // two passes over two servers
    expect((await t.ask(query('down.example.com')))!.rcode).toBe('SERVFAIL');
    expect(t.calls).toHaveLength(tried);
    t.clock.advance(5000);
    await t.ask(query('down.example.com'));
    expect(t.calls.length).toBeGreaterThan(tried);
  });

  it('answers SERVFAIL at once beyond MaxInflight distinct questions', async () => {
    const { udp, release } = gated();
    const t = setup({ maxInflight: 2, udp });
    const p1 = t.ask(query('one.example.com'));
    const p2 = t.ask(query('two.example.com'));
    const third = await t.ask(query('three.example.com'));
    expect(third!.rcode).toBe('SERVFAIL');
    release();
    expect((await p1)!.rcode).toBe('NOERROR');
    expect((await p2)!.rcode).toBe('NOERROR');
  });

  it('backs off from a server that keeps failing', async () => {
    const t = setup({
      udp: (s, q) => (s.label === '192.0.2.1:53' ? new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', s.label, 't') : answerA('192.0.2.20', 0)(s, q)),
    });
    for (let i = 0; i < 3; i++) await t.ask(query(`n${i}.example.com`));
    t.calls.length = 0;
    await t.ask(query('after.example.com'));
    expect(t.calls.map((c) => c.server)).toEqual(['192.0.2.2:53']);
  });
});

describe('pipeline: no cache', () => {
  it('forwards every query when the cache is off', async () => {
    const t = setup({ udp: answerA('192.0.2.10'), cache: false });
    await t.ask(query('www.example.com'));
    await t.ask(query('www.example.com'));
    expect(t.calls).toHaveLength(2);
  });
});

describe('pipeline: serve-stale (RFC 8767)', () => {
  // The upstream answers while `up` is true, times out otherwise.
  function flaky(staleSec: number) {
    const state = { up: true };
    const t = setup({
      staleSec,
      servers: 1,
      udp: (s, q) => (state.up ? answerA('192.0.2.10', 10)(s, q) : new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', s.label, 't')),
    });
    return { ...t, state };
  }

  it('serves an expired answer with TTL 30 and EDE 3 "Stale Answer" when the refresh fails (RFC 8767 4, RFC 8914 4.4)', async () => {
    const t = flaky(3600);
    await t.ask(query('www.example.com'));
    t.clock.advance(20_000);
    t.state.up = false;
    const r = await t.ask(query('www.example.com', 'A', { edns: { udpSize: 1232 } }));
    expect(r!.rcode).toBe('NOERROR');
    expect(r!.answers![0]).toMatchObject({ data: '192.0.2.10', ttl: 30 });
    const opt = r!.additionals!.find((x) => x.type === 'OPT') as { options?: { code: number; data: Buffer }[] };
    expect(opt.options).toMatchObject([{ code: 15, data: Buffer.from([0, 3]) }]);
    expect(t.stats.staleServed).toBe(1);
    const plain = await t.ask(query('www.example.com'));
    expect(plain!.answers![0]!.ttl).toBe(30);
    expect(plain!.additionals).toHaveLength(0);
  });

  it('after a failed refresh, answers stale without asking upstream until CacheFailureTTLSec passes', async () => {
    const t = flaky(3600);
    await t.ask(query('www.example.com'));
    t.clock.advance(20_000);
    t.state.up = false;
    await t.ask(query('www.example.com'));
    const calls = t.calls.length;
    await t.ask(query('www.example.com'));
    expect(t.calls.length).toBe(calls);
    t.clock.advance(5_000);
    t.state.up = true;
    const fresh = await t.ask(query('www.example.com'));
    expect(fresh!.answers![0]!.ttl).toBe(10);
    expect(t.calls.length).toBe(calls + 1);
  });

  it('answers SERVFAIL past the ServeStaleSec window, and never serves stale when it is 0', async () => {
    for (const [staleSec, waitMs] of [[60, 80_000], [0, 20_000]] as const) {
      const t = flaky(staleSec);
      await t.ask(query('www.example.com'));
      t.clock.advance(waitMs);
      t.state.up = false;
      expect((await t.ask(query('www.example.com')))!.rcode).toBe('SERVFAIL');
      expect(t.stats.staleServed).toBe(0);
    }
  });

  describe('the client response timer (RFC 8767 section 5, ServeStaleClientTimeoutMs)', () => {
    // The upstream answers at once until `hold()`; then every exchange waits for `release()`.
    function slow(staleClientTimeoutMs: number) {
      let gate: Promise<void> | null = null;
      let open = () => {};
      let ip = '192.0.2.10';
      const t = setup({
        staleSec: 3600,
        staleClientTimeoutMs,
        servers: 1,
        udp: async (s, q) => {
          if (gate) await gate;
          return answerA(ip, 10)(s, q);
        },
      });
      const hold = () => {
        gate = new Promise<void>((r) => (open = r));
      };
      const release = (nextIp: string) => {
        ip = nextIp;
        gate = null;
        open();
      };
      return { ...t, hold, release };
    }
    const settled = async <T>(p: Promise<T>): Promise<'pending' | T> => Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

    it('a slow refresh: the client gets the stale answer when the timer fires, and the refresh still updates the cache', async () => {
      const t = slow(1800);
      await t.ask(query('www.example.com'));
      t.clock.advance(20_000);
      t.hold();
      const waiting = t.ask(query('www.example.com', 'A', { edns: { udpSize: 1232 } }));
      t.clock.advance(1799);
      expect(await settled(waiting)).toBe('pending');
      t.clock.advance(1);
      const r = await waiting;
      expect(r!.answers![0]).toMatchObject({ data: '192.0.2.10', ttl: 30 });
      const opt = r!.additionals!.find((x) => x.type === 'OPT') as { options?: { code: number; data: Buffer }[] };
      expect(opt.options).toMatchObject([{ code: 15, data: Buffer.from([0, 3]) }]);
      expect(t.stats.staleServed).toBe(1);

      const calls = t.calls.length;
      t.release('192.0.2.20');
      await new Promise((r) => setImmediate(r));
      const fresh = await t.ask(query('www.example.com'));
      expect(fresh!.answers![0]).toMatchObject({ data: '192.0.2.20', ttl: 10 });
      expect(t.calls.length).toBe(calls); // from the cache the refresh filled
    });

    it('a refresh within the timer wins: the fresh answer, nothing stale', async () => {
      const t = slow(1800);
      await t.ask(query('www.example.com'));
      t.clock.advance(20_000);
      t.hold();
      const waiting = t.ask(query('www.example.com'));
      t.clock.advance(1000);
      t.release('192.0.2.20');
      expect((await waiting)!.answers![0]).toMatchObject({ data: '192.0.2.20', ttl: 10 });
      t.clock.advance(5000); // the cancelled timer must not fire into anything
      expect(t.stats.staleServed).toBe(0);
    });

    it('without a stale answer, or with the timer at 0, the client waits for the refresh', async () => {
      for (const [timerMs, primed] of [[1800, false], [0, true]] as const) {
        const t = slow(timerMs);
        if (primed) await t.ask(query('www.example.com'));
        t.clock.advance(20_000);
        t.hold();
        const waiting = t.ask(query('www.example.com'));
        t.clock.advance(10_000);
        expect(await settled(waiting)).toBe('pending');
        t.release('192.0.2.20');
        expect((await waiting)!.answers![0]).toMatchObject({ data: '192.0.2.20', ttl: 10 });
        expect(t.stats.staleServed).toBe(0);
      }
    });
  });

  it('prefers a fresh answer whenever upstream refreshes it', async () => {
    const t = flaky(3600);
    await t.ask(query('www.example.com'));
    t.clock.advance(20_000);
    const r = await t.ask(query('www.example.com'));
    expect(r!.answers![0]!.ttl).toBe(10);
    expect(t.stats.staleServed).toBe(0);
  });
});

describe('pipeline: EDNS options', () => {
  it('never echoes a client\'s EDNS options, known or not (RFC 6891 6.1.2)', async () => {
    const t = setup({ udp: answerA('192.0.2.10') });
    const m = packet.encode({
      type: 'query',
      id: 5,
      flags: packet.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'www.example.com', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{ code: 10, data: Buffer.alloc(8, 1) }, { code: 65001, data: Buffer.from('x') }] } as never],
    } as packet.Packet);
    for (let i = 0; i < 2; i++) {
      const r = await t.ask(m);
      const opt = r!.additionals!.find((x) => x.type === 'OPT') as { options: unknown[] };
      expect(opt.options).toEqual([]);
      const sent = decode(t.calls[0]!.q).additionals!.find((x) => x.type === 'OPT') as { options: unknown[] };
      expect(sent.options).toEqual([]);
    }
  });
});

