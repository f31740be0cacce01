// Socket activation as systemd does it: the parent binds the sockets and passes them as fds
// 3, 4, ... with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (which must be the child's own pid:
// `sh -c 'LISTEN_PID=$$ exec node ...'`). The resolver adopts them instead of binding its own.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, createSocket } from '../../src/native/binding.js';
import { freePort } from '../helpers/instance.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { digQuery, answers } from '../helpers/dig.js';
import { ManagedProcess, RESOLVER_MAIN, pinoMsg } from '../helpers/process.js';
import { configFile, udpAsk, waitForLogAfter } from './systemd-helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function upstream(): Promise<FakeUpstream> {
  const up = await startFakeUpstream((q, _t, r) => r.reply(replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.53')] })));
  cleanups.push(() => up.close());
  return up;
}

/** UDP and TCP listening sockets on 127.0.0.1:port and [::1]:port, as a socket unit makes them. */
function socketUnit(port: number, device: string | null = null): number[] {
  const fds = [
    createSocket({ family: 4, type: 'udp', address: '127.0.0.1', port, reuseAddr: true, device }),
    createSocket({ family: 4, type: 'tcp', address: '127.0.0.1', port, reuseAddr: true, backlog: 16, device }),
    createSocket({ family: 6, type: 'udp', address: '::1', port, reuseAddr: true, v6Only: true, device }),
    createSocket({ family: 6, type: 'tcp', address: '::1', port, reuseAddr: true, v6Only: true, backlog: 16, device }),
  ];
  return fds;
}

/** Starts the resolver with `fds` as 3.., the way systemd does; closes our copies. */
function activated(fds: number[], args: string[], listenPid: 'self' | string = 'self', control = ''): ManagedProcess {
  const pidExpr = listenPid === 'self' ? '$$' : listenPid;
  const child = spawn('/bin/sh', ['-c', `LISTEN_PID=${pidExpr} exec "$0" "$@"`, process.execPath, RESOLVER_MAIN, 'run', '--control', control, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', ...fds],
    env: { ...process.env, LISTEN_FDS: String(fds.length), LISTEN_FDNAMES: fds.map(() => 'dns').join(':') },
  });
  for (const fd of fds) closeFd(fd); // the child has its own copies now
  const proc = new ManagedProcess(child, 'resolver (socket-activated)');
  cleanups.push(() => proc.stop());
  return proc;
}

describe('socket activation (LISTEN_FDS)', () => {
  it('adopts the passed UDP and TCP sockets on both families instead of binding its own', async () => {
    const up = await upstream();
    const port = await freePort();
    const ownPort = await freePort();
    const proc = activated(socketUnit(port), ['--listen', `127.0.0.1:${ownPort}`, '--upstream', `127.0.0.1:${up.port}`]);
    const ready = await proc.waitForLog(pinoMsg('ready', { socketActivated: true }));
    expect(ready.json!['listeners']).toEqual([
      `udp 127.0.0.1:${port} (from systemd, dns)`, `tcp 127.0.0.1:${port} (from systemd, dns)`,
      `udp [::1]:${port} (from systemd, dns)`, `tcp [::1]:${port} (from systemd, dns)`,
    ]);
    for (const server of ['127.0.0.1', '::1']) {
      expect(answers(await digQuery(null, server, `udp.${server === '::1' ? 'v6' : 'v4'}.example.test`, 'A', { port }))).toEqual(['192.0.2.53']);
      expect(answers(await digQuery(null, server, `tcp.${server === '::1' ? 'v6' : 'v4'}.example.test`, 'A', { port, tcp: true }))).toEqual(['192.0.2.53']);
    }
    expect(await udpAsk('127.0.0.1', ownPort, query('own.example.test'), 500)).toBeNull(); // --listen did not apply
  });

  it('with --workers 2 every worker serves its own duplicate of the passed sockets, UDP and TCP', async () => {
    const up = await upstream();
    const port = await freePort();
    const dir = mkdtempSync('/tmp/vr-la-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const control = `${dir}/ctl.sock`;
    const proc = activated(socketUnit(port), ['--workers', '2', '--upstream', `127.0.0.1:${up.port}`], 'self', control);
    await proc.waitForLog(pinoMsg('control socket ready'), 20_000);
    const worker = await proc.waitForLog(pinoMsg('worker ready', { worker: 1 }));
    expect(worker.json!['listeners']).toEqual([
      `udp 127.0.0.1:${port} (from systemd, dns)`, `tcp 127.0.0.1:${port} (from systemd, dns)`,
      `udp [::1]:${port} (from systemd, dns)`, `tcp [::1]:${port} (from systemd, dns)`,
    ]);
    // Both threads wait on the same sockets; whichever reads a query answers it. Nothing is lost.
    const names = Array.from({ length: 30 }, (_, i) => `la${i}.example.test`);
    const replies = await Promise.all(names.map((n) => udpAsk('127.0.0.1', port, query(n), 2000)));
    expect(replies.every((r) => r !== null)).toBe(true);
    expect(answers(await digQuery(null, '::1', 'tcp.workers.example.test', 'A', { port, tcp: true }))).toEqual(['192.0.2.53']);
    const stats = JSON.parse(execFileSync(RESOLVER_MAIN, ['statistics', '--json', '--control', control], { encoding: 'utf8' })) as {
      counters: { queries: number }; workers: { counters: { queries: number } }[];
    };
    expect(stats.counters.queries).toBe(31);
    expect(stats.workers).toHaveLength(2);
  });

  it('a reload keeps the adopted sockets and says Listen= changes apply in the socket unit', async () => {
    const up = await upstream();
    const port = await freePort();
    const conf = configFile(['[Resolve]', `DNS=127.0.0.1:${up.port}`, 'Listen=127.0.0.1:5']);
    cleanups.push(() => conf.remove());
    const proc = activated(socketUnit(port), ['--config', conf.path]);
    await proc.waitForLog(pinoMsg('ready'));
    conf.rewrite(['[Resolve]', `DNS=127.0.0.1:${up.port}`, 'Listen=127.0.0.1:6']);
    const from = proc.lines.length;
    proc.child.kill('SIGHUP');
    const r = await waitForLogAfter(proc, from, pinoMsg('configuration reloaded'));
    expect(String(r.json!['listenIgnored'])).toMatch(/socket unit/);
    expect(answers(await digQuery(null, '::1', 'after.example.test', 'A', { port }))).toEqual(['192.0.2.53']);
  });

  it('ignores fds whose LISTEN_PID is another process and binds its own listeners', async () => {
    const up = await upstream();
    const port = await freePort();
    const ownPort = await freePort();
    const proc = activated(socketUnit(port), ['--listen', `127.0.0.1:${ownPort}`, '--upstream', `127.0.0.1:${up.port}`], '1');
    const ready = await proc.waitForLog(pinoMsg('ready'));
    expect(ready.json!['listeners']).toEqual([`udp 127.0.0.1:${ownPort}`, `tcp 127.0.0.1:${ownPort}`]);
    expect(ready.json!['socketActivated']).toBeUndefined();
  });

  it('answers the datagram that woke it: a query waiting in the passed UDP socket before the process starts', async () => {
    // systemd starts the service because a datagram arrived; it sits in the socket until the
    // process reads it. With a device to follow (netlink is set up first), nothing may read the
    // adopted socket before the listener's handler is attached, or that query is lost.
    const up = await upstream();
    const port = await freePort();
    const fds = socketUnit(port, 'lo');
    const waiting = udpAsk('127.0.0.1', port, query('woke.example.test'), 15_000);
    const proc = activated(fds, ['--vrf', 'lo', '--upstream', `127.0.0.1:${up.port}`, '--upstream-device', 'default']);
    const reply = await waiting;
    expect(reply, proc.output()).not.toBeNull();
    expect(decode(reply!).answers!.map((r) => r.data)).toEqual(['192.0.2.53']);
    await proc.waitForLog(pinoMsg('ready', { socketActivated: true }));
  });

  it('refuses sockets bound to another device than its VRF, naming the fix', async () => {
    const up = await upstream();
    const port = await freePort();
    const proc = activated(socketUnit(port, 'lo'), ['--upstream', `127.0.0.1:${up.port}`]);
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    expect(proc.output()).toMatch(/fd 3 \("dns"\) \(udp 127\.0\.0\.1:\d+\) is bound to device lo, but this instance serves the default VRF/);
  });
});
