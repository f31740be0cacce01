// DNS over TLS (RFC 7858, RFC 8310 profiles) with the real binary and real unbound TLS servers in
// network namespaces, through a device: the twin topology (test/helpers/topology.ts) puts the
// TLS servers in B, behind devB, at the same address as A (dnsmasq, plain DNS only), so an answer
// over TLS proves the TLS socket was bound to devB. The certificates are made with openssl at
// test time: a CA, a server certificate for dns.example.test and 10.53.0.2, and an expired one.

import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, digQuery } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { startUnbound } from '../helpers/unbound.js';
import { buildTwinUpstreams, type TwinUpstreams } from '../helpers/netns.js';
import { pinoMsg, spawnResolver, type ManagedProcess } from '../helpers/process.js';

let topo: TwinUpstreams;
let dir: string;
let plainA: UpstreamServer;
let tlsB: UpstreamServer;
let expiredB: UpstreamServer;
const resolvers: ManagedProcess[] = [];
const NAMES = Array.from({ length: 20 }, (_, i) => `n${i}.example.test`);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 20_000 });
}

/** base64 SHA-256 of the certificate's SubjectPublicKeyInfo (RFC 7858 section 4.2). */
function pinOf(certFile: string): string {
  const spki = createPublicKey(readFileSync(join(dir, certFile))).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-dot-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=vrf-resolver test CA', '-days', '2');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=dns.example.test');
  writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:dns.example.test,IP:10.53.0.2\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext');
  // notAfter before notBefore, both around now: expired.
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'expired.pem', '-days', '-1', '-extfile', 'ext');
  openssl('req', ...ec, '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=other');
  openssl('x509', '-req', '-in', 'other.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'other.pem', '-days', '2');

  topo = await buildTwinUpstreams();
  const up = topo.v4.upstream;
  plainA = await startDnsmasq(topo.a, { listen: [up], records: [{ name: 'www.example.test', type: 'A', value: '192.0.2.1', ttl: 300 }] });
  const data = ['www.example.test. 300 IN A 192.0.2.2', ...NAMES.map((n) => `${n}. 300 IN A 192.0.2.2`)];
  const tls = (port: number, cert: string) =>
    [`interface: ${up}@${port}`, `tls-port: ${port}`, `tls-service-key: "${join(dir, 'server.key')}"`, `tls-service-pem: "${join(dir, cert)}"`];
  tlsB = await startUnbound(topo.b, { listen: [up], port: 53, localData: data, extraConf: tls(853, 'server.pem') });
  expiredB = await startUnbound(topo.b, { listen: [up], port: 5353, localData: data, extraConf: tls(8853, 'expired.pem') });
}, 90_000);

afterAll(async () => {
  for (const r of resolvers) await r.stop().catch(() => undefined);
  for (const s of [plainA, tlsB, expiredB]) await s?.stop().catch(() => undefined);
  await topo?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

let nextPort = 5400;
/** An instance in C on 127.0.0.1:<port> with the given config lines, upstream sockets bound to `dev`. */
async function resolver(dev: string, ...lines: string[]): Promise<{ r: ManagedProcess; port: number }> {
  const port = nextPort++;
  const conf = join(dir, `r${port}.conf`);
  writeFileSync(conf, ['[Resolve]', `Listen=127.0.0.1:${port}`, `UpstreamDevice=${dev}`, 'UpstreamTimeoutMs=2000', ...lines, ''].join('\n'));
  const r = spawnResolver(topo.c, ['--config', conf, '--log-level', 'debug']);
  resolvers.push(r);
  await r.waitForLog(pinoMsg('ready'), 15_000);
  return { r, port };
}

const ask = (port: number, name = 'www.example.test') => digQuery(topo.c, '127.0.0.1', name, 'A', { port });
const tlsFailure = (r: ManagedProcess) => r.waitForLog(pinoMsg('upstream failed', { code: 'VR_ERR_UPSTREAM_TLS' }), 10_000);

describe('DNS over TLS through a device (the VRF stand-in)', () => {
  it('strict, with the name and the CA: answered by B over TLS; 20 more names share one connection', async () => {
    const { r, port } = await resolver(topo.devB, `DNS=${topo.v4.upstream}#dns.example.test`, 'DNSOverTLS=yes', `TLSCAFile=${join(dir, 'ca.pem')}`);
    expect(answers(await ask(port))).toEqual(['192.0.2.2']);
    await Promise.all(NAMES.map((n) => ask(port, n)));
    const ss = await topo.c.exec('ss', ['-Htn', 'state', 'established', 'dst', `${topo.v4.upstream}:853`]);
    expect(ss.stdout.trim().split('\n').filter(Boolean)).toHaveLength(1);
    expect(tlsB.queryCount('www.example.test')).toBe(1);
    expect(plainA.queryCount('www.example.test')).toBe(0);
    expect(r.lines.some((l) => l.json?.['code'] === 'VR_ERR_UPSTREAM_TLS')).toBe(false);
  });

  it('strict, with a pin and no CA: answered; a pin of another key is refused', async () => {
    const good = await resolver(topo.devB, `DNS=${topo.v4.upstream}`, 'DNSOverTLS=yes', `TLSPinSHA256=${pinOf('server.pem')}`);
    expect(answers(await ask(good.port))).toEqual(['192.0.2.2']);
    const bad = await resolver(topo.devB, `DNS=${topo.v4.upstream}`, 'DNSOverTLS=yes', `TLSPinSHA256=${pinOf('other.pem')}`);
    expect((await ask(bad.port)).status).toBe('SERVFAIL');
    expect(String((await tlsFailure(bad.r)).json?.['err'])).toMatch(/matches no TLSPinSHA256=/);
  });

  it('strict refuses a wrong name, an unknown CA and an expired certificate, each with its reason', async () => {
    const wrong = await resolver(topo.devB, `DNS=${topo.v4.upstream}#other.example.test`, 'DNSOverTLS=yes', `TLSCAFile=${join(dir, 'ca.pem')}`);
    expect((await ask(wrong.port)).status).toBe('SERVFAIL');
    expect(String((await tlsFailure(wrong.r)).json?.['err'])).toMatch(/not valid for other\.example\.test/);

    const noCa = await resolver(topo.devB, `DNS=${topo.v4.upstream}#dns.example.test`, 'DNSOverTLS=yes');
    expect((await ask(noCa.port)).status).toBe('SERVFAIL');
    expect(String((await tlsFailure(noCa.r)).json?.['err'])).toMatch(/not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): TLSCAFile=/);

    const expired = await resolver(topo.devB, `DNS=${topo.v4.upstream}:8853#dns.example.test`, 'DNSOverTLS=yes', `TLSCAFile=${join(dir, 'ca.pem')}`);
    expect((await ask(expired.port)).status).toBe('SERVFAIL');
    expect(String((await tlsFailure(expired.r)).json?.['err'])).toMatch(/has expired .*\(CERT_HAS_EXPIRED\)/);
    expect(expiredB.queryCount('www.example.test')).toBe(0);
  });

  it('opportunistic: without TLS at the server (A), plain DNS on port 53 with one warn line', async () => {
    const { r, port } = await resolver(topo.devA, `DNS=${topo.v4.upstream}`, 'DNSOverTLS=opportunistic');
    expect(answers(await ask(port))).toEqual(['192.0.2.1']);
    const warn = await r.waitForLog(pinoMsg('DNS over TLS failed'), 5_000);
    expect(warn.json?.['upstream']).toBe(`${topo.v4.upstream}:853`);
    expect(answers(await ask(port, 'www.example.test.'))).toEqual(['192.0.2.1']); // cached; no second warn needed
    expect(r.lines.filter((l) => l.json?.['msg']?.toString().includes('DNS over TLS failed'))).toHaveLength(1);
  });

  it('opportunistic with a TLS server: TLS is used, and its certificate is not checked', async () => {
    const { port } = await resolver(topo.devB, `DNS=${topo.v4.upstream}#not-its-name.example`, 'DNSOverTLS=opportunistic');
    const before = tlsB.queryCount('n19.example.test');
    expect(answers(await ask(port, 'n19.example.test'))).toEqual(['192.0.2.2']);
    expect(tlsB.queryCount('n19.example.test')).toBe(before + 1);
    const ss = await topo.c.exec('ss', ['-Htn', 'state', 'established', 'dst', `${topo.v4.upstream}:853`]);
    expect(ss.stdout.trim().split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(1);
  });
});
