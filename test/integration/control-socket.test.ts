// The control socket against a real instance on loopback sockets (issue: control plane): every
// request of control/protocol.ts, statistics that match a scripted query mix exactly, flush then
// the upstream is asked again, and the socket under abuse (garbage, a 10 MB line, 1,000
// connections, a client that never reads) while DNS goes on being served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { App } from '../../src/app.js';
import { InstanceControl } from '../../src/control/api.js';
import { startControlServer, MAX_CONNECTIONS, type ControlServer } from '../../src/control/server.js';
import { controlRequest } from '../../src/control/client.js';
import type { StatisticsReport, StatusReport } from '../../src/control/types.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { a, aaaa, decode, header, query, replyTo, soa } from '../helpers/dns-packets.js';

let dir: string;
let up: FakeUpstream;
let app: App;
let port: number;
let server: ControlServer;
let path: string;
const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-control-'));
  path = join(dir, 'test.sock');
  up = await startFakeUpstream((q, _t, r) => {
    const { name, type } = decode(q).questions![0]!;
    if (type === 'AAAA') r.reply(replyTo(q, { answers: [aaaa(name, '2001:db8::1', 300)] }));
    else if (name.startsWith('nx.')) r.reply(replyTo(q, { rcode: 'NXDOMAIN', authorities: [soa('example.test', 300, 60)] }));
    else if (name.startsWith('sf.')) r.reply(replyTo(q, { rcode: 'SERVFAIL' }));
    else r.reply(replyTo(q, { answers: [a(name, '192.0.2.1', 300)] }));
  });
  port = await freePort();
  app = await startInstance(
    testConfig({ listen: [{ family: 4, address: '127.0.0.1', port }], upstreams: [{ family: 4, address: '127.0.0.1', port: up.port }], attemptTimeoutMs: 200, queryTimeoutMs: 500 }),
  );
  const api = new InstanceControl({ app, log, version: '9.9.9', startedAtMs: Date.now(), endpoints: () => ({ controlSocket: path, metrics: null }) });
  server = await startControlServer({ path, group: null, api, log });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await app?.close();
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ask = async (name: string, type: 'A' | 'AAAA' = 'A') => {
  const r = await udpAsk('127.0.0.1', port, query(name, type), 3000);
  if (!r) throw new Error(`no reply for ${name}`);
  return decode(r);
};

describe('control requests against a running instance', () => {
  it('status: instance, version, listeners, upstream state, cache limits; the socket is mode 0600', async () => {
    const s = (await controlRequest(path, { command: 'status' })) as StatusReport;
    expect(s).toMatchObject({ instance: 'test', version: '9.9.9', pid: process.pid, vrf: { name: null, ifindex: null }, controlSocket: path });
    expect(s.listeners).toEqual([`udp 127.0.0.1:${port}`, `tcp 127.0.0.1:${port}`]);
    expect(s.upstreams).toEqual([expect.objectContaining({ server: `127.0.0.1:${up.port}`, state: 'healthy', rttMs: null })]);
    expect(s.cache).toMatchObject({ enabled: true, maxEntries: 1000, maxBytes: 64 * 1024 * 1024 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('statistics match a scripted mix exactly: hits, misses, NXDOMAIN, FORMERR, SERVFAIL; --reset zeroes them', async () => {
    await controlRequest(path, { command: 'statistics', reset: true });
    await ask('one.example.test'); // miss
    await ask('one.example.test'); // hit
    await ask('one.example.test', 'AAAA'); // miss (another type)
    await ask('nx.example.test'); // miss, NXDOMAIN
    await ask('nx.example.test'); // hit, NXDOMAIN
    await ask('sf.example.test'); // miss, SERVFAIL (2 upstream attempts: two passes)
    const formerr = Buffer.concat([header(7, 0x0100, 2)]); // QDCOUNT 2 and no question: FORMERR
    expect(await udpAsk('127.0.0.1', port, formerr, 2000)).not.toBeNull();
    const st = (await controlRequest(path, { command: 'statistics', reset: false })) as StatisticsReport;
    expect(st.counters).toMatchObject({ queries: 7, udpQueries: 7, tcpQueries: 0, cacheHits: 2, cacheMisses: 4, formerr: 1, servfail: 1, denied: 0 });
    expect(st.responsesByRcode).toEqual({ NOERROR: 3, NXDOMAIN: 2, SERVFAIL: 1, FORMERR: 1 });
    expect(st.queriesByType).toEqual({ A: 5, AAAA: 1 });
    expect(st.latency.hit.count).toBe(2);
    expect(st.latency.miss.count).toBe(4);
    expect(st.latency.miss.p50Ms).toBeGreaterThan(0);
    expect(st.latency.hit.buckets.at(-1)).toEqual({ leMs: '+Inf', count: 2 });
    expect(st.upstreams[0]).toMatchObject({ queries: 5, failures: 2, failuresByCode: { VR_ERR_UPSTREAM_SERVFAIL: 2 } });
    expect(st.upstreams[0]!.rttMs).toBeGreaterThan(0);
    const before = (await controlRequest(path, { command: 'statistics', reset: true })) as StatisticsReport;
    expect(before.counters.queries).toBe(7);
    const after = (await controlRequest(path, { command: 'statistics', reset: false })) as StatisticsReport;
    expect(after.counters.queries).toBe(0);
    expect(after.responsesByRcode).toEqual({});
    expect(after.upstreams[0]).toMatchObject({ queries: 0, failures: 0 });
  });

  it('flush-caches NAME drops every type of that name, and the next query reaches the upstream', async () => {
    await ask('flush.example.test');
    await ask('flush.example.test', 'AAAA');
    await ask('keep.example.test');
    expect(await controlRequest(path, { command: 'cache-lookup', name: 'FLUSH.example.test.', type: 1 })).toMatchObject({ cached: true });
    const seen = up.queries.length;
    expect(await controlRequest(path, { command: 'flush-caches', name: 'Flush.Example.Test' })).toEqual({ flushed: 2 });
    expect(await controlRequest(path, { command: 'cache-lookup', name: 'flush.example.test', type: 1 })).toEqual({ cached: false, remainingSec: null });
    await ask('flush.example.test');
    await ask('keep.example.test');
    expect(up.queries.length).toBe(seen + 1); // flush asked again, keep came from the cache
    const all = (await controlRequest(path, { command: 'flush-caches' })) as { flushed: number };
    expect(all.flushed).toBeGreaterThanOrEqual(2);
    expect(app.cache?.size).toBe(0);
  });

  it('log-level changes the running level and says the previous one', async () => {
    expect(await controlRequest(path, { command: 'log-level', level: 'debug' })).toEqual({ previous: 'info', level: 'debug' });
    expect(await controlRequest(path, { command: 'log-level', level: 'info' })).toEqual({ previous: 'debug', level: 'info' });
  });

  it('a bad request gets an error reply with a stable code; the connection stays usable', async () => {
    const lines = await exchange(['{"v":1,"id":1,"command":"nope"}', 'garbage', '{"v":2,"id":3,"command":"status"}',
      '{"v":1,"id":4,"command":"flush-caches","name":"a..b"}', '{"v":1,"id":5,"command":"status"}']);
    expect(lines.map((l) => [l.id, l.ok, l.error?.code])).toEqual([
      [1, false, 'VR_ERR_CONTROL_REQUEST'],
      [null, false, 'VR_ERR_CONTROL_REQUEST'],
      [3, false, 'VR_ERR_CONTROL_REQUEST'],
      [4, false, 'VR_ERR_CONTROL_REQUEST'],
      [5, true, undefined],
    ]);
  });
});

describe('the control socket under abuse: DNS goes on being served', () => {
  it('a 10 MB line is cut off after 4 KiB with an error, without buffering it', async () => {
    const sock = net.createConnection({ path });
    await new Promise((r) => sock.once('connect', r));
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('error', () => undefined);
    const closed = new Promise((r) => sock.once('close', r));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 160 && !sock.destroyed; i++) sock.write(chunk);
    await closed;
    expect(got).toContain('VR_ERR_CONTROL_REQUEST');
    expect((await ask('abuse1.example.test')).answers).toHaveLength(1);
  });

  it(`1,000 connections: at most ${MAX_CONNECTIONS} held, the rest refused, and requests still answered after`, async () => {
    const closed = new Set<net.Socket>();
    const socks = Array.from({ length: 1000 }, () => {
      const s = net.createConnection({ path });
      s.on('error', () => undefined);
      s.once('close', () => closed.add(s));
      return s;
    });
    await new Promise((r) => setTimeout(r, 1000));
    // The server closes what it does not hold (maxConnections); the rest wait for a request.
    expect(socks.length - closed.size).toBeLessThanOrEqual(MAX_CONNECTIONS);
    expect(socks.length - closed.size).toBeGreaterThan(0);
    expect((await ask('abuse2.example.test')).answers).toHaveLength(1);
    for (const s of socks) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await controlRequest(path, { command: 'status' })).toMatchObject({ instance: 'test' });
  }, 20_000);

  it('a client that never reads its replies is cut off; memory stays bounded', async () => {
    const sock = net.createConnection({ path });
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    sock.pause(); // never read
    const closed = new Promise<boolean>((r) => sock.once('close', () => r(true)));
    const heapBefore = process.memoryUsage().heapUsed;
    const req = Buffer.from('{"v":1,"id":1,"command":"status"}\n'.repeat(100));
    let sent = 0;
    const t0 = Date.now();
    while (!sock.destroyed && Date.now() - t0 < 5000 && sent < 200_000) {
      if (!sock.write(req)) await new Promise((r) => setTimeout(r, 5));
      sent += 100;
    }
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 5000))])).toBe(true);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    expect((await ask('abuse3.example.test')).answers).toHaveLength(1);
  }, 20_000);

  it('a second server on the same path is refused while the first runs; a stale socket file is replaced', async () => {
    const api = new InstanceControl({ app, log, version: 'x', startedAtMs: Date.now(), endpoints: () => ({ controlSocket: null, metrics: null }) });
    await expect(startControlServer({ path, group: null, api, log })).rejects.toMatchObject({ code: 'VR_ERR_CONTROL_SOCKET' });
    const other = join(dir, 'plain-file');
    writeFileSync(other, 'not a socket');
    await expect(startControlServer({ path: other, group: null, api, log })).rejects.toThrow(/not a socket/);
    const stalePath = join(dir, 'stale.sock');
    const stale = net.createServer().listen(stalePath);
    await new Promise((r) => stale.once('listening', r));
    // Abandon it the way a killed process does: the file stays, nothing listens.
    (stale as unknown as { _handle: { close(): void } })._handle.close();
    const s2 = await startControlServer({ path: stalePath, group: null, api, log });
    expect(await controlRequest(stalePath, { command: 'status' })).toMatchObject({ version: 'x' });
    await s2.close();
  });
});

/** Sends lines on one connection and collects one reply per line. */
async function exchange(lines: string[]): Promise<{ id: unknown; ok: boolean; error?: { code: string } }[]> {
  const sock = net.createConnection({ path });
  await new Promise((r) => sock.once('connect', r));
  let buf = '';
  const replies = new Promise<string[]>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`replies so far: ${buf}`)), 3000);
    sock.on('data', (d) => {
      buf += d.toString();
      const got = buf.split('\n').filter((l) => l !== '');
      if (got.length >= lines.length) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
  sock.write(lines.map((l) => l + '\n').join(''));
  const out = (await replies).map((l) => JSON.parse(l) as { id: unknown; ok: boolean; error?: { code: string } });
  sock.destroy();
  return out;
}
