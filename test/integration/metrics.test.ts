// The metrics listener (Metrics=) on real sockets. This kernel has no VRF, so a veth stands in
// for the VRF device (test/helpers/topology.ts): namespace C runs the instance, A and B sit
// behind devA and devB with the SAME address 10.53.0.2, and C has 10.53.0.1 on both veths.
//
// The instance is bound to devB. A scraper in B reaches 10.53.0.1:PORT through devB, and its
// replies must leave through devB too, which only a socket bound to devB does (the main table
// in C routes 10.53.0.2 to devA). A scraper in A asks the same address and port through devA
// and must get nothing. A client inside C cannot stand in for `ip vrf exec mgmt curl`: without
// a VRF, traffic to a local address loops through lo and is delivered as if it came in on the
// first device that holds the address, whatever the client is bound to.
//
// The instance is the real binary (dist/main.js run --vrf DEV --metrics ADDR:PORT; npm test builds
// it). The HTTP bounds are checked in-process on 127.0.0.1 with the plain factory at the end.

import net from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/config/types.js';
import { InstanceControl } from '../../src/control/api.js';
import { startMetricsListener, type MetricsListener } from '../../src/control/metrics.js';
import { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS } from '../../src/control/metrics-http.js';
import { createPlainSocketFactory } from '../../src/net/plain-factory.js';
import type { App } from '../../src/app.js';
import { answers, digQuery } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { sleep } from '../helpers/exec.js';
import { httpExchange, httpGet, parseHttpReply, type HttpReply } from '../helpers/http-probe.js';
import { freePort, startInstance, testConfig } from '../helpers/instance.js';
import { buildTwinUpstreams, type Netns, type TwinUpstreams } from '../helpers/netns.js';
import { pinoMsg, spawnResolver, type ManagedProcess } from '../helpers/process.js';
import { ensurePromtool, promtoolCheck } from '../helpers/promtool.js';
import { startEchoResponder, type EchoResponder } from '../helpers/pysock.js';

const METRICS_PORT = 9153;
const DNS_PORT = 53;

let topo: TwinUpstreams;
let upstream: UpstreamServer;
let promtool = '';
const children: ManagedProcess[] = [];

beforeAll(async () => {
  promtool = ensurePromtool();
  topo = await buildTwinUpstreams();
  upstream = await startDnsmasq(topo.b, {
    listen: [topo.v4.upstream],
    records: [{ name: 'www.example.test', type: 'A', value: '192.0.2.2', ttl: 300 }],
  });
}, 300_000);

afterAll(async () => {
  for (const c of children) await c.stop().catch(() => undefined);
  await upstream?.stop().catch(() => undefined);
  await topo?.destroy();
}, 60_000);

const v4 = (address: string, port: number): Endpoint => ({ family: 4, address, port });

/** DNS ports for instances that need no particular one, so two on one device never collide. */
let nextDnsPort = 5400;

/**
 * Starts the real binary in C bound to `device` (--vrf: listeners, upstream and metrics sockets
 * on it) with --metrics; resolves with what it logged about the metrics listener: its label, or
 * the error code and message it runs on without.
 */
async function instance(device: string, metrics: Endpoint, listen: Endpoint[] = [v4(topo.v4.client, nextDnsPort++)]): Promise<{ proc: ManagedProcess; line: { ready?: string; error?: { code: string; message: string } } }> {
  const proc = spawnResolver(topo.c, [
    '--vrf', device, '--upstream', topo.v4.upstream, '--allow-from', '10.53.0.0/24',
    '--metrics', `${metrics.address}:${metrics.port}`, ...listen.flatMap((l) => ['--listen', `${l.address}:${l.port}`]),
  ]);
  children.push(proc);
  const l = await proc.waitForLog(pinoMsg('metrics listener'), 15_000);
  const j = l.json ?? {};
  return {
    proc,
    line: j['msg'] === 'metrics listener ready' ? { ready: String(j['metrics']) } : { error: { code: String(j['code']), message: String(j['err']) } },
  };
}

/** Sample lines of an exposition by series ("name{labels}") → value. */
function series(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

async function scrape(ns: Netns): Promise<HttpReply> {
  const r = await httpGet(ns, topo.v4.client, METRICS_PORT);
  expect(r.ok, `${r.error ?? ''} ${r.raw}`).toBe(true);
  expect(r.status).toBe(200);
  return r;
}

describe('the metrics listener bound to a device (the VRF stand-in)', () => {
  let vrf = '';
  let control: EchoResponder | undefined;

  beforeAll(async () => {
    vrf = topo.devB;
    const { line } = await instance(vrf, v4(topo.v4.client, METRICS_PORT), [v4(topo.v4.client, DNS_PORT)]);
    expect(line).toEqual({ ready: `http://${topo.v4.client}:${METRICS_PORT}/metrics on ${vrf}` });
    // An unbound listener on the same address: the control that A can reach C at all.
    control = await startEchoResponder(topo.c, 'unbound', [topo.v4.client], METRICS_PORT + 1);
  }, 30_000);

  afterAll(async () => {
    await control?.stop();
  });

  it('a scraper in the VRF gets a valid exposition, every series labelled with the VRF', async () => {
    const r = await scrape(topo.b);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.headers['connection']).toBe('close');
    expect(await promtoolCheck(promtool, r.body)).toEqual({ code: 0, output: '' });
    const all = [...series(r.body).keys()];
    expect(all.length).toBeGreaterThan(30);
    expect(all.filter((k) => !k.includes(`vrf="${vrf}"`))).toEqual([]);
    expect(series(r.body).get(`vrf_resolver_upstream_healthy{to="${topo.v4.upstream}:53",vrf="${vrf}"}`)).toBe(1);
  });

  it('counts exactly the queries asked between two scrapes', async () => {
    const before = series((await scrape(topo.b)).body);
    const ask = (name: string, tcp = false) => digQuery(topo.b, topo.v4.client, name, 'A', { tcp });
    expect(answers(await ask('www.example.test'))).toEqual(['192.0.2.2']); // miss
    expect(answers(await ask('www.example.test'))).toEqual(['192.0.2.2']); // hit
    expect((await ask('nope.example.test')).status).toBe('NXDOMAIN'); // miss
    expect(answers(await ask('www.example.test', true))).toEqual(['192.0.2.2']); // hit, over TCP
    const after = series((await scrape(topo.b)).body);
    const moved = (name: string, labels = '') => {
      const key = `${name}{${labels}${labels ? ',' : ''}vrf="${vrf}"}`;
      return (after.get(key) ?? 0) - (before.get(key) ?? 0);
    };
    expect(moved('vrf_resolver_dns_requests_total', 'proto="udp"')).toBe(3);
    expect(moved('vrf_resolver_dns_requests_total', 'proto="tcp"')).toBe(1);
    expect(moved('vrf_resolver_dns_requests_by_type_total', 'type="A"')).toBe(4);
    expect(moved('vrf_resolver_dns_responses_total', 'rcode="NOERROR"')).toBe(3);
    expect(moved('vrf_resolver_dns_responses_total', 'rcode="NXDOMAIN"')).toBe(1);
    expect(moved('vrf_resolver_cache_hits_total')).toBe(2);
    expect(moved('vrf_resolver_cache_misses_total')).toBe(2);
    expect(moved('vrf_resolver_upstream_requests_total', `to="${topo.v4.upstream}:53"`)).toBe(2);
    expect(moved('vrf_resolver_dns_request_duration_seconds_count', 'cache="hit"')).toBe(2);
    expect(moved('vrf_resolver_dns_request_duration_seconds_count', 'cache="miss"')).toBe(2);
    expect(moved('vrf_resolver_dns_request_duration_seconds_bucket', 'cache="miss",le="+Inf"')).toBe(2);
    expect(moved('vrf_resolver_dns_requests_denied_total')).toBe(0);
    // www.example.test at least (dnsmasq's NXDOMAIN has no SOA, so RFC 2308 leaves it uncached).
    expect(after.get(`vrf_resolver_cache_entries{vrf="${vrf}"}`)).toBeGreaterThanOrEqual(1);
    expect(after.has(`vrf_resolver_upstream_rtt_seconds{to="${topo.v4.upstream}:53",vrf="${vrf}"}`)).toBe(true);
  });

  it('a client through another device, to the same address and port, cannot reach it', async () => {
    // Control: through devA, C's address is reachable by a listener bound to no device.
    const ctl = await httpGet(topo.a, topo.v4.client, METRICS_PORT + 1);
    expect(ctl.raw).toMatch(/^unbound GET \/metrics HTTP\/1\.1/);
    const r = await httpGet(topo.a, topo.v4.client, METRICS_PORT, '/metrics', 3_000);
    expect(r.ok).toBe(false);
    expect(['ECONNREFUSED', 'ETIMEDOUT']).toContain(r.error);
    expect(r.raw).toBe('');
    expect(r.ms).toBeLessThan(3_500);
  });

  it('garbage and a POST get 4xx, and the listener keeps serving', async () => {
    const garbage = await httpExchange(topo.b, topo.v4.client, METRICS_PORT, Buffer.from('\x00\x01\x02 not http\r\n\r\n', 'latin1'));
    expect(garbage.status).toBe(400);
    const post = await httpExchange(topo.b, topo.v4.client, METRICS_PORT,
      `POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`);
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    expect((await scrape(topo.b)).body).toContain('vrf_resolver_build_info{');
  });

  it('a second instance on another device shares the address and port, and each side sees its own', async () => {
    const other = await instance(topo.devA, v4(topo.v4.client, METRICS_PORT));
    expect(other.line.ready).toBe(`http://${topo.v4.client}:${METRICS_PORT}/metrics on ${topo.devA}`);
    const fromA = await scrape(topo.a);
    const fromB = await scrape(topo.b);
    expect(fromA.body).toContain(`vrf="${topo.devA}"`);
    expect(fromA.body).not.toContain(`vrf="${vrf}"`);
    expect(fromB.body).toContain(`vrf="${vrf}"`);
    expect(fromB.body).not.toContain(`vrf="${topo.devA}"`);
    await other.proc.stop();
  });

  it('fails with VR_ERR_METRICS and what to do: the port taken on the device, an address not on it', async () => {
    const taken = await instance(vrf, v4(topo.v4.client, METRICS_PORT));
    expect(taken.line.error?.code).toBe('VR_ERR_METRICS');
    expect(taken.line.error?.message).toContain(`cannot serve metrics at http://${topo.v4.client}:${METRICS_PORT}/metrics on ${vrf}: `);
    expect(taken.line.error?.message).toMatch(/EADDRINUSE.*ss -ltnp/);
    const missing = await instance(vrf, v4('10.53.9.9', METRICS_PORT));
    expect(missing.line.error?.code).toBe('VR_ERR_METRICS');
    expect(missing.line.error?.message).toContain(`EADDRNOTAVAIL`);
    expect(missing.line.error?.message).toContain(`ip addr add 10.53.9.9/32 dev ${vrf}`);
    // The listener that was there first still serves.
    await scrape(topo.b);
  });
});

describe('the HTTP bounds (plain sockets on 127.0.0.1)', () => {
  let app: App;
  let listener: MetricsListener;
  let port = 0;
  const exchange = (request: string, timeoutMs = 3_000) => rawExchange(port, request, timeoutMs);

  beforeAll(async () => {
    app = await startInstance(testConfig({ listen: [], upstreams: [] }));
    const log = pino({ level: 'silent' });
    const api = new InstanceControl({ app, log, version: '0.0.0-test', startedAtMs: Date.now(), endpoints: () => ({ controlSocket: null, metrics: null }) });
    port = await freePort();
    listener = await startMetricsListener({ api, endpoint: v4('127.0.0.1', port), factory: createPlainSocketFactory(), log, vrf: null });
  });

  afterAll(async () => {
    await listener?.close();
    await app?.close();
  });

  it('serves /metrics (GET and HEAD), a pointer on /, 404 elsewhere, 400 for a body', async () => {
    const get = await exchange('GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(get.status).toBe(200);
    expect(get.body).toContain('vrf_resolver_build_info{version="0.0.0-test"');
    expect(get.body).toContain('vrf="default"');
    const head = await exchange('HEAD /metrics HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const root = await exchange('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect([root.status, root.body]).toEqual([200, 'vrf-resolver: Prometheus metrics are at /metrics\n']);
    expect((await exchange('GET /debug HTTP/1.1\r\nHost: h\r\n\r\n')).status).toBe(404);
    expect((await exchange('DELETE /metrics HTTP/1.1\r\nHost: h\r\n\r\n')).status).toBe(405);
    expect((await exchange('GET /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc')).status).toBe(400);
    expect((await exchange('GET /metrics HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).status).toBe(400);
  });

  it('closes a request whose headers never end (408) within the headers timeout', async () => {
    const r = await exchange('GET /metrics HTTP/1.1\r\nHost: h\r\n', HEADERS_TIMEOUT_MS + 4_000);
    expect(r.status).toBe(408);
    // Node checks the timeouts once a second.
    expect(r.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(r.ms).toBeLessThan(HEADERS_TIMEOUT_MS + 2_000);
  }, 15_000);

  it(`holds at most ${MAX_CONNECTIONS} connections; one more is closed at once, and later ones are served again`, async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => openPartial(port)));
    await sleep(200);
    const extra = await exchange('GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(extra.status).toBeUndefined();
    expect(extra.raw).toBe('');
    expect(extra.ms).toBeLessThan(1_000);
    for (const s of held) s.destroy();
    await sleep(200);
    expect((await exchange('GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n')).status).toBe(200);
  });

  it('close() ends open connections and stops accepting', async () => {
    const log = pino({ level: 'silent' });
    const api = new InstanceControl({ app, log, version: 't', startedAtMs: Date.now(), endpoints: () => ({ controlSocket: null, metrics: null }) });
    const p = await freePort();
    const l = await startMetricsListener({ api, endpoint: v4('127.0.0.1', p), factory: createPlainSocketFactory(), log, vrf: 'x' });
    const open = await openPartial(p);
    const closed = new Promise<void>((resolve) => open.once('close', () => resolve()));
    const started = Date.now();
    await l.close();
    await closed;
    expect(Date.now() - started).toBeLessThan(1_000);
    const after = await rawExchange(p, 'GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n', 1_000);
    expect(after.error).toBe('ECONNREFUSED');
  });
});

/** A connection that sent half a request and waits. */
function openPartial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write('GET /metrics HTTP/1.1\r\n');
      resolve(s);
    });
    s.on('error', reject);
  });
}

/** One raw exchange on the host's loopback, read until the server closes (bounded). */
function rawExchange(port: number, request: string, timeoutMs: number): Promise<HttpReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (ok: boolean, error?: string) => {
      if (done) return;
      done = true;
      s.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ ok, ...(error !== undefined && { error }), ...parseHttpReply(raw), raw, ms: Date.now() - started });
    };
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(request));
    s.setTimeout(timeoutMs, () => finish(false, 'ETIMEDOUT'));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => finish(true));
    s.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
  });
}
