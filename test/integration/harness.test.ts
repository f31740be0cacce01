// Proves the integration-test harness itself: the twin-upstream topology routes device-bound
// sockets to the right twin, real dnsmasq/unbound upstreams answer and count queries, getent
// honours /etc/netns/<ns>/resolv.conf, and nothing (namespace, process, file) is left behind.
// Needs root, iproute2, python3, dnsmasq, unbound, dig (bind9-dnsutils).

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { answers, digQuery, getent } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { run, runOk } from '../helpers/exec.js';
import { buildTwinUpstreams, cleanupStale, listNamespaces, markerPath, scratchRoot, uniqueName, MARKER_DIR, type TwinUpstreams } from '../helpers/netns.js';
import { pinoMsg, spawnNode } from '../helpers/process.js';
import { probe, startEchoResponder, type EchoResponder } from '../helpers/pysock.js';
import { startUnbound } from '../helpers/unbound.js';

const HOST_RESOLV = readFileSync('/etc/resolv.conf', 'utf8');
const records = (v4: string, v6: string, txt: string) =>
  [
    { name: 'www.example.test', type: 'A', value: v4, ttl: 120 },
    { name: 'www.example.test', type: 'AAAA', value: v6 },
    { name: 'txt.example.test', type: 'TXT', value: [txt, 'second string'] },
    { name: 'alias.example.test', type: 'CNAME', value: 'www.example.test', ttl: 60 },
  ] as const;

let topo: TwinUpstreams;
let dnsA: UpstreamServer;
let dnsB: UpstreamServer;
const echoes: EchoResponder[] = [];

beforeAll(async () => {
  topo = await buildTwinUpstreams();
  const listen = [topo.v4.upstream, topo.v6.upstream];
  echoes.push(await startEchoResponder(topo.a, 'A', listen), await startEchoResponder(topo.b, 'B', listen));
  dnsA = await startDnsmasq(topo.a, { listen, records: [...records('192.0.2.1', '2001:db8::1', 'from A')] });
  dnsB = await startDnsmasq(topo.b, { listen, records: [...records('192.0.2.2', '2001:db8::2', 'from B')] });
});

afterAll(async () => {
  // destroy() kills whatever still runs in the namespaces; stop() first keeps the order tidy.
  for (const e of echoes) await e.stop().catch(() => undefined);
  await dnsA?.stop().catch(() => undefined);
  await dnsB?.stop().catch(() => undefined);
  await topo?.destroy();
});

describe('twin-upstream topology', () => {
  it('has the same prefix connected on both devices in C, main table preferring devA', async () => {
    const { c, devA, devB } = topo;
    const v4 = await runOk('ip', ['-n', c.name, '-4', 'route', 'show', '10.53.0.0/24']);
    const v6 = await runOk('ip', ['-n', c.name, '-6', 'route', 'show', 'fd53::/64']);
    for (const out of [v4.stdout, v6.stdout]) {
      expect(out).toContain(`dev ${devA}`);
      expect(out).toContain(`dev ${devB}`);
    }
    expect((await runOk('ip', ['-n', c.name, 'route', 'get', '10.53.0.2'])).stdout).toContain(`dev ${devA}`);
    expect((await runOk('ip', ['-n', c.name, 'route', 'get', 'fd53::2'])).stdout).toContain(`dev ${devA}`);
    expect((await runOk('ip', ['-n', c.name, 'route', 'get', '10.53.0.2', 'oif', devB])).stdout).toContain(`dev ${devB}`);
    expect((await runOk('ip', ['-n', c.name, '-6', 'addr', 'show', 'tentative'])).stdout.trim()).toBe('');
  });

  const cases = (['udp', 'tcp'] as const).flatMap((proto) =>
    (['v4', 'v6'] as const).map((fam) => ({ proto, fam })),
  );
  it.each(cases)('SO_BINDTODEVICE picks the twin ($fam $proto)', async ({ proto, fam }) => {
    const addr = topo[fam].upstream;
    const viaA = await probe(topo.c, { dev: topo.devA, proto, addr });
    const viaB = await probe(topo.c, { dev: topo.devB, proto, addr });
    const unbound = await probe(topo.c, { proto, addr });
    expect(viaA).toMatchObject({ ok: true, reply: 'A ping', local: topo[fam].client });
    expect(viaB).toMatchObject({ ok: true, reply: 'B ping', local: topo[fam].client });
    expect(unbound).toMatchObject({ ok: true, reply: 'A ping' }); // main table: first route, devA
  });

  it('strict rp_filter in C would drop the devB twin (why the topology sets it to 0)', async () => {
    const key = `net.ipv4.conf.${topo.devB}.rp_filter`;
    await runOk('ip', ['netns', 'exec', topo.c.name, 'sysctl', '-q', '-w', `${key}=1`]);
    try {
      const r = await probe(topo.c, { dev: topo.devB, proto: 'udp', addr: topo.v4.upstream, timeoutSec: 1 });
      expect(r.ok).toBe(false);
    } finally {
      await runOk('ip', ['netns', 'exec', topo.c.name, 'sysctl', '-q', '-w', `${key}=0`]);
    }
    expect(await probe(topo.c, { dev: topo.devB, proto: 'udp', addr: topo.v4.upstream })).toMatchObject({ reply: 'B ping' });
  });
});

describe('dnsmasq upstreams', () => {
  it.each([
    { side: 'a', want: '192.0.2.1', want6: '2001:db8::1' },
    { side: 'b', want: '192.0.2.2', want6: '2001:db8::2' },
  ] as const)('$side answers its own data over UDP and TCP, v4 and v6', async ({ side, want, want6 }) => {
    const ns = topo[side];
    for (const server of [topo.v4.upstream, topo.v6.upstream]) {
      for (const tcp of [false, true]) {
        const r = await digQuery(ns, server, 'www.example.test', 'A', { tcp });
        expect(r.status).toBe('NOERROR');
        expect(answers(r, 'A')).toEqual([want]);
        expect(r.answer[0]).toMatchObject({ name: 'www.example.test.', ttl: 120, class: 'IN', type: 'A' });
        expect(r.server).toEqual({ address: server, port: 53, proto: tcp ? 'TCP' : 'UDP' });
        expect(r.queryTimeMs).toBeGreaterThanOrEqual(0);
      }
    }
    expect(answers(await digQuery(ns, topo.v4.upstream, 'www.example.test', 'AAAA'), 'AAAA')).toEqual([want6]);
    const txt = await digQuery(ns, topo.v4.upstream, 'txt.example.test', 'TXT');
    expect(answers(txt)).toEqual([`"from ${side.toUpperCase()}" "second string"`]);
    expect(txt.answer[0]?.ttl).toBe(300); // TXT has no own TTL: --local-ttl
    const cname = await digQuery(ns, topo.v4.upstream, 'alias.example.test', 'A');
    expect(cname.answer.map((a) => [a.type, a.ttl, a.data])).toEqual([
      ['CNAME', 60, 'www.example.test.'],
      ['A', 120, want],
    ]);
  });

  it('local mode: NXDOMAIN/NODATA without SOA, out-of-zone REFUSED', async () => {
    const nx = await digQuery(topo.a, topo.v4.upstream, 'nope.example.test', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority).toEqual([]);
    expect(nx.flags).not.toContain('aa');
    const nodata = await digQuery(topo.a, topo.v4.upstream, 'www.example.test', 'MX');
    expect([nodata.status, nodata.answer.length, nodata.authority.length]).toEqual(['NOERROR', 0, 0]);
    expect((await digQuery(topo.a, topo.v4.upstream, 'example.com', 'A')).status).toBe('REFUSED');
  });

  it('queryCount counts queries that reached each upstream (UDP and TCP), not probes', async () => {
    const name = 'count.example.test';
    expect(dnsA.queryCount(name)).toBe(0);
    const before = dnsB.queryCount();
    await digQuery(topo.a, topo.v4.upstream, name, 'A');
    await digQuery(topo.a, topo.v6.upstream, name, 'AAAA', { tcp: true });
    await dnsA.waitForQueries(2, name);
    expect(dnsA.queryCount(name)).toBe(2);
    expect(dnsA.queryCount(name, 'AAAA')).toBe(1);
    expect(dnsA.queries().filter((q) => q.name === name).map((q) => q.client)).toEqual([topo.v4.upstream, topo.v6.upstream]);
    expect(dnsB.queryCount()).toBe(before);
  });

  it('auth mode puts the zone SOA in negative answers (every TTL = authTtl)', async () => {
    const s = await startDnsmasq(topo.a, { listen: [topo.v4.upstream], port: 5300, mode: 'auth', authTtl: 45, records: [...records('192.0.2.1', '2001:db8::1', 'x')] });
    try {
      const nx = await digQuery(topo.a, topo.v4.upstream, 'nope.example.test', 'A', { port: 5300 });
      expect(nx.status).toBe('NXDOMAIN');
      expect(nx.flags).toContain('aa');
      expect(nx.authority[0]).toMatchObject({ name: 'example.test.', type: 'SOA', ttl: 45 });
      expect(nx.authority[0]?.data.split(' ').at(-1)).toBe('45'); // SOA MINIMUM
      const www = await digQuery(topo.a, topo.v4.upstream, 'www.example.test', 'A', { port: 5300 });
      expect(www.answer[0]?.ttl).toBe(45); // the record's own ttl (120) is ignored in auth mode
      expect(s.queryCount('nope.example.test')).toBe(1);
    } finally {
      await s.stop();
    }
  });
});

describe('unbound upstream', () => {
  it('serves local-data with default TTL 3600 and SOA-backed negative answers', async () => {
    const u = await startUnbound(topo.b, {
      listen: [topo.v4.upstream, topo.v6.upstream],
      port: 5301,
      negativeTtl: 30,
      localData: ['www.example.test. 300 IN A 192.0.2.2', 'www.example.test. IN AAAA 2001:db8::2'],
    });
    try {
      const a = await digQuery(topo.b, topo.v6.upstream, 'www.example.test', 'A', { port: 5301, tcp: true });
      expect(a.answer[0]).toMatchObject({ ttl: 300, data: '192.0.2.2' });
      const aaaa = await digQuery(topo.b, topo.v4.upstream, 'www.example.test', 'AAAA', { port: 5301 });
      expect(aaaa.answer[0]).toMatchObject({ ttl: 3600, data: '2001:db8::2' });
      const nx = await digQuery(topo.b, topo.v4.upstream, 'nope.example.test', 'A', { port: 5301 });
      expect(nx.status).toBe('NXDOMAIN');
      expect(nx.authority[0]).toMatchObject({ type: 'SOA', ttl: 30 });
      const nodata = await digQuery(topo.b, topo.v4.upstream, 'www.example.test', 'MX', { port: 5301 });
      expect([nodata.status, nodata.authority[0]?.type]).toEqual(['NOERROR', 'SOA']);
      await u.waitForQueries(4);
      expect(u.queryCount('www.example.test')).toBe(3);
      expect(u.queryCount('nope.example.test.', 'A')).toBe(1);
    } finally {
      await u.stop();
    }
  });
});

describe('getent through /etc/netns/<ns>/resolv.conf', () => {
  it('each upstream namespace resolves through its own dnsmasq; the host file is untouched', async () => {
    for (const [ns, v4, v6] of [
      [topo.a, '192.0.2.1', '2001:db8::1'],
      [topo.b, '192.0.2.2', '2001:db8::2'],
    ] as const) {
      ns.writeResolvConf(`nameserver ${topo.v4.upstream}\noptions timeout:1 attempts:1\n`);
      const r = await getent(ns, 'ahosts', 'www.example.test');
      expect(r.code).toBe(0);
      expect(r.addresses.sort()).toEqual([v6, v4].sort());
      expect(r.rows).toContainEqual([v4, 'STREAM']); // ahosts: only the first row carries the name
      expect(r.rows[0]?.[2]).toBe('www.example.test');
      expect((await getent(ns, 'ahostsv4', 'nope.example.test')).code).toBe(2);
    }
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(HOST_RESOLV);
  });
});

describe('process helper', () => {
  it('captures pino-style lines, waits for them and stops with SIGTERM then SIGKILL', async () => {
    const dir = mkdtempSync(`${tmpdir()}/vr-proc-`);
    try {
      const script = `${dir}/child.mjs`;
      // The handler is installed before 'listening' is logged: stop() may follow that line at once.
      writeFileSync(script, [
        `if (process.argv[3] === 'stubborn') process.on('SIGTERM', () => console.log('ignoring TERM'));`,
        `else process.on('SIGTERM', () => { console.log(JSON.stringify({ level: 30, msg: 'bye' })); process.exit(0); });`,
        `console.log(JSON.stringify({ level: 30, msg: 'listening', port: Number(process.argv[2]) }));`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'));
      const polite = spawnNode(topo.c, script, ['53']);
      await polite.waitForLog(pinoMsg('listening', { port: 53 }), 5_000);
      expect(await polite.stop()).toEqual({ code: 0, signal: null });
      expect(polite.lines.some(pinoMsg('bye'))).toBe(true);
      const stubborn = spawnNode(null, script, ['1', 'stubborn']);
      await stubborn.waitForLog(pinoMsg('listening'), 5_000);
      expect(await stubborn.stop(300)).toEqual({ code: null, signal: 'SIGKILL' });
      await expect(stubborn.waitForLog(() => false, 100)).rejects.toThrow(/exited/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cleanup', () => {
  it('cleanupStale removes a namespace whose creator is dead, and nothing else', async () => {
    const stale = uniqueName('s');
    const unmarked = uniqueName('u');
    const dead = spawn('true');
    const deadPid = await new Promise<number>((r) => dead.once('exit', () => r(dead.pid ?? 0)));
    writeFileSync(markerPath(stale), JSON.stringify({ pid: deadPid, start: 'dead' }));
    await runOk('ip', ['netns', 'add', stale]);
    await runOk('ip', ['netns', 'add', unmarked]);
    try {
      const removed = await cleanupStale();
      expect(removed).toContain(stale);
      const left = await listNamespaces();
      expect(left).not.toContain(stale);
      expect(left).toContain(unmarked); // no marker: not provably ours, left alone
      expect(left).toEqual(expect.arrayContaining([topo.a.name, topo.b.name, topo.c.name])); // live owner
      expect(existsSync(markerPath(stale))).toBe(false);
    } finally {
      await run('ip', ['netns', 'del', stale]);
      await run('ip', ['netns', 'del', unmarked]);
    }
  });

  it('destroy() kills every process, deletes every namespace, and is idempotent', async () => {
    const names = [topo.a.name, topo.b.name, topo.c.name];
    expect(existsSync(scratchRoot(topo.a.name))).toBe(true); // dnsmasq's log lives there
    const pids = [dnsA.proc.pid, dnsB.proc.pid, ...echoes.map((e) => e.proc.pid)];
    topo.a.writeResolvConf('nameserver 127.0.0.1\n');
    await Promise.all([topo.destroy(), topo.destroy()]);
    await topo.destroy();
    const left = await listNamespaces();
    for (const n of names) {
      expect(left).not.toContain(n);
      expect(existsSync(`/etc/netns/${n}`)).toBe(false);
      expect(existsSync(`${MARKER_DIR}/${n}`)).toBe(false);
      expect(existsSync(scratchRoot(n))).toBe(false);
    }
    for (const pid of pids) expect(pid !== undefined && existsSync(`/proc/${pid}`)).toBe(false);
  });
});
