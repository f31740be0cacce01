// The operator commands, as an operator runs them (the real binary, dist/main.js), against real
// running instances in a network namespace: dnsmasq upstream on 127.0.0.2, an instance on
// 127.0.0.1:53 with its control socket in a scratch directory, a second one beside it on
// 127.0.0.3. What runs inside a real VRF under systemd is scenario 4 of the VM lab.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, digQuery } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { Netns, cleanupStale } from '../helpers/netns.js';
import { RESOLVER_MAIN, pinoMsg, spawnManaged, spawnResolver, type ManagedProcess } from '../helpers/process.js';
import type { StatisticsReport, StatusReport } from '../../src/control/types.js';

let ns: Netns;
let up: UpstreamServer;
let dir: string;
let one: ManagedProcess;
let two: ManagedProcess;
const sock = (n: string) => `${dir}/${n}.sock`;

beforeAll(async () => {
  await cleanupStale();
  ns = await Netns.create('cli');
  dir = ns.makeTempDir('control');
  up = await startDnsmasq(ns, {
    listen: ['127.0.0.2'],
    records: [
      { name: 'www.example.test', type: 'A', value: '192.0.2.1', ttl: 300 },
      { name: 'www.example.test', type: 'AAAA', value: '2001:db8::1', ttl: 300 },
      { name: 'mail.example.test', type: 'A', value: '192.0.2.25', ttl: 300 },
    ],
  });
  const start = async (name: string, listen: string): Promise<ManagedProcess> => {
    const p = spawnResolver(ns, ['--listen', listen, '--upstream', '127.0.0.2', '--control', sock(name)]);
    await p.waitForLog(pinoMsg('control socket ready'), 15_000);
    return p;
  };
  one = await start('one', '127.0.0.1');
  two = await start('two', '127.0.0.3');
}, 60_000);

afterAll(async () => {
  for (const p of [one, two]) await p?.stop().catch(() => undefined);
  await up?.stop().catch(() => undefined);
  await ns?.destroy();
}, 30_000);

/** `vrf-resolver ARGS...` inside the namespace: exit code and output. */
async function vr(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await ns.exec(RESOLVER_MAIN, args, { timeoutMs: 15_000 });
  return { code: r.code, out: r.stdout, err: r.stderr };
}
const json = async <T>(...args: string[]): Promise<T> => {
  const r = await vr(...args, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
};

describe('vrf-resolver status, statistics, flush-caches, log-level, query against running instances', () => {
  it('status: human and --json, each instance its own', async () => {
    const human = await vr('status', '--control', sock('one'));
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/udp 127\.0\.0\.1:53/);
    expect(human.out).toMatch(/127\.0\.0\.2:53/);
    const s1 = await json<StatusReport>('status', '--control', sock('one'));
    const s2 = await json<StatusReport>('status', '--control', sock('two'));
    expect(s1.listeners).toEqual(['udp 127.0.0.1:53', 'tcp 127.0.0.1:53']);
    expect(s2.listeners).toEqual(['udp 127.0.0.3:53', 'tcp 127.0.0.3:53']);
    expect(s1.pid).not.toBe(s2.pid);
    expect(s1).toMatchObject({ controlSocket: sock('one'), vrf: { name: null }, upstreams: [{ server: '127.0.0.2:53', state: 'healthy' }] });
  });

  it('statistics: a scripted mix over UDP and TCP, counted exactly; --reset prints then zeroes', async () => {
    await vr('statistics', '--control', sock('one'), '--reset');
    expect(answers(await digQuery(ns, '127.0.0.1', 'www.example.test'))).toEqual(['192.0.2.1']); // miss
    expect(answers(await digQuery(ns, '127.0.0.1', 'www.example.test', 'A', { tcp: true }))).toEqual(['192.0.2.1']); // hit
    expect((await digQuery(ns, '127.0.0.1', 'nope.example.test')).status).toBe('NXDOMAIN'); // miss
    expect((await digQuery(ns, '127.0.0.1', 'x.test', 'A', { extra: ['+notcp', '-c', 'CH'] })).status).toBe('REFUSED'); // class CH
    const st = await json<StatisticsReport>('statistics', '--control', sock('one'));
    expect(st.counters).toMatchObject({ queries: 4, udpQueries: 3, tcpQueries: 1, cacheHits: 1, cacheMisses: 2, refused: 1 });
    expect(st.responsesByRcode).toEqual({ NOERROR: 2, NXDOMAIN: 1, REFUSED: 1 });
    expect(st.queriesByTransport).toEqual({ udp: 3, tcp: 1 });
    const human = await vr('statistics', '--control', sock('one'), '--reset');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/NXDOMAIN/);
    expect((await json<StatisticsReport>('statistics', '--control', sock('one'))).counters.queries).toBe(0);
  });

  it('flush-caches NAME: the next query for it reaches the upstream, others still come from the cache', async () => {
    await digQuery(ns, '127.0.0.1', 'mail.example.test');
    await digQuery(ns, '127.0.0.1', 'www.example.test', 'AAAA');
    const before = up.queryCount('mail.example.test');
    const r = await vr('flush-caches', '--control', sock('one'), 'mail.example.test');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/1 entr/);
    await digQuery(ns, '127.0.0.1', 'mail.example.test');
    await digQuery(ns, '127.0.0.1', 'www.example.test', 'AAAA');
    expect(await up.waitForQueries(before + 1, 'mail.example.test')).toBe(before + 1);
    expect(up.queryCount('www.example.test', 'AAAA')).toBe(1);
  });

  it('log-level debug: query lines appear without a restart; info stops them', async () => {
    const r = await vr('log-level', '--control', sock('two'), 'debug');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/info/);
    await digQuery(ns, '127.0.0.3', 'www.example.test');
    await two.waitForLog(pinoMsg('query', { qname: 'www.example.test.' }), 5_000);
    expect((await vr('log-level', '--control', sock('two'), 'info')).code).toBe(0);
    const seen = two.lines.filter((l) => l.json?.['msg'] === 'query').length;
    await digQuery(ns, '127.0.0.3', 'mail.example.test');
    expect(two.lines.filter((l) => l.json?.['msg'] === 'query').length).toBe(seen);
  });

  it('query: the answer, the rcode, from the cache or not, the TTL left; over UDP and TCP', async () => {
    await vr('flush-caches', '--control', sock('one'));
    type Q = { rcode: string; transport: string; answers: { data: string }[]; cache: { cached: boolean; remainingSec: number | null } };
    const first = await json<Q>('query', '--control', sock('one'), 'www.example.test', 'A');
    expect(first).toMatchObject({ rcode: 'NOERROR', transport: 'udp', cache: { cached: false } });
    expect(first.answers.map((a) => a.data)).toEqual(['192.0.2.1']);
    const second = await json<Q>('query', '--control', sock('one'), 'www.example.test', 'A', '--tcp');
    expect(second).toMatchObject({ transport: 'tcp', cache: { cached: true } });
    expect(second.cache.remainingSec).toBeGreaterThan(250);
    const human = await vr('query', '--control', sock('one'), 'nope.example.test');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/NXDOMAIN/);
  });

  it('a reload moves the control socket where ControlSocket= now says (the old one goes)', async () => {
    const { writeFileSync, existsSync } = await import('node:fs');
    const conf = `${dir}/reload.conf`;
    writeFileSync(conf, `[Resolve]\nDNS=127.0.0.2\nListen=127.0.0.4\nControlSocket=${sock('before')}\n`);
    // Not spawnResolver: its --control flag would override the file's ControlSocket=.
    const p = spawnManaged(ns, RESOLVER_MAIN, ['run', '--config', conf], { label: 'resolver-reload' });
    try {
      await p.waitForLog(pinoMsg('control socket ready', { controlSocket: sock('before') }), 15_000);
      expect((await vr('status', '--control', sock('before'))).code).toBe(0);
      writeFileSync(conf, `[Resolve]\nDNS=127.0.0.2\nListen=127.0.0.4\nControlSocket=${sock('after')}\n`);
      p.child.kill('SIGHUP');
      await p.waitForLog(pinoMsg('control socket ready', { controlSocket: sock('after') }), 15_000);
      expect((await vr('status', '--control', sock('after'))).code).toBe(0);
      expect((await vr('status', '--control', sock('before'))).code).toBe(3);
      expect(existsSync(sock('before'))).toBe(false);
    } finally {
      await p.stop();
    }
  });

  it('exit 3 and what to do when no instance runs at the socket; exit 2 on usage', async () => {
    const r = await vr('status', '--control', `${dir}/none.sock`);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/no instance is running/);
    expect((await vr('log-level', '--control', sock('one'), 'loud')).code).toBe(2);
  });
});
