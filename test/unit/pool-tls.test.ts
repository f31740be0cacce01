// The pool with DNSOverTLS= (upstream/pool.ts), with scripted exchanges and a manual clock:
// strict mode never falls back; opportunistic falls back to plain DNS (port 53 for a server
// on 853) only when the connection could not be made or secured, warns once, and tries TLS
// again after TLS_RETRY_MS; queries over TLS are padded (RFC 8467).
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/clock.js';
import { parseQuery } from '../../src/dns/query.js';
import { UpstreamError } from '../../src/errors.js';
import { ConnectFailedError } from '../../src/upstream/tcp-connection.js';
import { newStats } from '../../src/stats.js';
import { UpstreamHealth } from '../../src/upstream/health.js';
import { TLS_RETRY_MS, UpstreamPool } from '../../src/upstream/pool.js';
import { toUpstreamServer, type UpstreamServer } from '../../src/upstream/server.js';
import type { DnsOverTls } from '../../src/config/types.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { resolved, scriptedUdp } from '../helpers/pipeline.js';

type Exchange = (s: UpstreamServer, q: Buffer, question: Buffer, timeoutMs: number) => Promise<Buffer>;

function setup(mode: DnsOverTls, tls: (s: UpstreamServer, q: Buffer) => Buffer | Error, device?: string, truncateUdp = false) {
  const clock = new ManualClock();
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg as string) });
  const calls: Array<{ via: string; server: string; len: number; timeoutMs?: number }> = [];
  const answer = (q: Buffer) => replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.1')] });
  const udp = async (s: UpstreamServer, q: Buffer) => {
    calls.push({ via: 'udp', server: s.label, len: q.length });
    return truncateUdp ? replyTo(q, { tc: true }) : answer(q);
  };
  const tcp: Exchange = async (s, q) => {
    calls.push({ via: 'tcp', server: s.label, len: q.length });
    return answer(q);
  };
  const tlsx: Exchange = async (s, q, _question, timeoutMs) => {
    calls.push({ via: 'tls', server: s.label, len: q.length, timeoutMs });
    const r = tls(s, q);
    if (r instanceof Error) throw r;
    return r;
  };
  const servers = [toUpstreamServer({ family: 4, address: '192.0.2.53', port: 853, tlsName: 'dns.example.test', ...(device !== undefined && { device }) })];
  const health = new UpstreamHealth(servers, clock);
  const pool = new UpstreamPool(
    { attemptTimeoutMs: 500, queryTimeoutMs: 1000, ednsUdpSize: 1232, dnsOverTls: mode, ttl: { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 } },
    { health, udp: scriptedUdp(udp), tcp, tls: tlsx, clock, log, stats: newStats() },
  );
  const resolve = (name: string) => {
    const v = parseQuery(query(name));
    if (v.kind !== 'ok') throw new Error('bad query');
    return resolved(pool, v.query);
  };
  return { clock, calls, warnings, resolve, answer, health };
}

const tlsDown = () => new UpstreamError('VR_ERR_UPSTREAM_TLS', '192.0.2.53:853', 'TLS handshake failed: ECONNRESET');

describe('pool with DNS over TLS', () => {
  it('yes: every question over TLS, padded to 128; a TLS failure is the server failing, never plain DNS', async () => {
    let up = true;
    const t = setup('yes', (_s, q) => (up ? replyTo(q, { answers: [a('x.example.test', '192.0.2.2')] }) : tlsDown()));
    await t.resolve('x.example.test');
    expect(t.calls).toEqual([{ via: 'tls', server: '192.0.2.53:853', len: expect.any(Number), timeoutMs: 500 }]);
    expect(t.calls[0]!.len % 128).toBe(0);
    up = false;
    await expect(t.resolve('y.example.test')).rejects.toMatchObject({ code: 'VR_ERR_ALL_UPSTREAMS_FAILED' });
    expect(t.calls.every((c) => c.via === 'tls')).toBe(true);
  });

  it('opportunistic: a failed TLS connection falls back to plain DNS on 53, warns once, and TLS is tried again after TLS_RETRY_MS', async () => {
    let up = false;
    const t = setup('opportunistic', (_s, q) => (up ? replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.2')] }) : tlsDown()));
    await t.resolve('one.example.test');
    expect(t.calls.map((c) => `${c.via} ${c.server}`)).toEqual(['tls 192.0.2.53:853', 'udp 192.0.2.53:53']);
    expect(t.calls[1]!.len % 128).not.toBe(0); // plain DNS is not padded
    t.clock.advance(TLS_RETRY_MS - 1);
    await t.resolve('two.example.test');
    expect(t.calls.slice(2).map((c) => c.via)).toEqual(['udp']); // no TLS attempt meanwhile
    expect(t.warnings.filter((w) => w.includes('DNS over TLS failed'))).toHaveLength(1);
    up = true;
    t.clock.advance(1);
    await t.resolve('three.example.test');
    expect(t.calls.slice(3).map((c) => c.via)).toEqual(['tls']);
  });

  it('opportunistic: TLS gets half the attempt; a connection that times out (853 dropped) still falls back to plain DNS', async () => {
    const t = setup('opportunistic', () => new ConnectFailedError('VR_ERR_UPSTREAM_TIMEOUT', '192.0.2.53:853', 'TCP connect failed: ETIMEDOUT'));
    await t.resolve('dropped.example.test');
    expect(t.calls.map((c) => [c.via, c.timeoutMs])).toEqual([['tls', 250], ['udp', undefined]]);
  });

  it('opportunistic: a truncated plain reply goes on over TCP to port 53, counted on the configured server', async () => {
    const t = setup('opportunistic', tlsDown, undefined, true);
    const resolved = await t.resolve('big.example.test');
    expect(resolved.server).toBe('192.0.2.53:853');
    expect(t.calls.map((c) => `${c.via} ${c.server}`)).toEqual(['tls 192.0.2.53:853', 'udp 192.0.2.53:53', 'tcp 192.0.2.53:53']);
    expect(t.health.snapshot()[0]).toMatchObject({ label: '192.0.2.53:853', tcpFallbacks: 1, failures: 0 });
  });

  it('opportunistic: the plain fallback keeps the server\'s own device (ADDR%DEVICE)', async () => {
    const t = setup('opportunistic', tlsDown, 'mgmt');
    await t.resolve('dev.example.test');
    expect(t.calls.map((c) => `${c.via} ${c.server}`)).toEqual(['tls 192.0.2.53:853%mgmt', 'udp 192.0.2.53:53%mgmt']);
  });

  it('opportunistic: a server that answers badly over TLS is judged on that answer, not asked in plain DNS', async () => {
    const t = setup('opportunistic', (_s, q) => replyTo(q, { rcode: 'SERVFAIL' }));
    await expect(t.resolve('bad.example.test')).rejects.toMatchObject({ code: 'VR_ERR_ALL_UPSTREAMS_FAILED' });
    expect(t.calls.every((c) => c.via === 'tls')).toBe(true);
  });
});
