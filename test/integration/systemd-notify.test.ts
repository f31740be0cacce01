// The real binary talking sd_notify(3) to a real AF_UNIX datagram socket standing in for
// systemd's: READY once the listeners answer, STATUS, WATCHDOG at half of WATCHDOG_USEC,
// RELOADING + MONOTONIC_USEC then READY around a SIGHUP reload, STOPPING on SIGTERM. And the
// journal log format, explicit or picked because stdout is the journal (JOURNAL_STREAM).
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/exec.js';
import { freePort } from '../helpers/instance.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { ManagedProcess, RESOLVER_MAIN, pinoMsg, spawnResolver } from '../helpers/process.js';
import { configFile, startNotifySocket, udpAsk, type NotifySocket } from './systemd-helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function upstream(): Promise<FakeUpstream> {
  const up = await startFakeUpstream((q, _t, r) => r.reply(replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.7')] })));
  cleanups.push(() => up.close());
  return up;
}

async function resolverWith(env: Record<string, string>, up: FakeUpstream): Promise<{ proc: ManagedProcess; port: number }> {
  const port = await freePort();
  const proc = spawnResolver(null, ['--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${up.port}`], { env });
  cleanups.push(() => proc.stop());
  return { proc, port };
}

async function notifySocket(abstract = false): Promise<NotifySocket> {
  const n = await startNotifySocket(abstract);
  cleanups.push(() => n.close());
  return n;
}

describe('sd_notify from the real process', () => {
  it('READY=1 only once the listener answers, with a STATUS summary, from the main pid', async () => {
    const up = await upstream();
    const n = await notifySocket();
    const { proc, port } = await resolverWith({ NOTIFY_SOCKET: n.address }, up);
    const ready = await n.waitFor('READY');
    // The moment READY arrives, a query is answered: the listeners were bound before it.
    const reply = await udpAsk('127.0.0.1', port, query('ready.example.test'));
    expect(reply).not.toBeNull();
    expect(decode(reply!).answers?.[0]?.data).toBe('192.0.2.7');
    expect(ready.pid).toBe(proc.pid);
    expect(ready.fields['READY']).toBe('1');
    expect(ready.fields['STATUS']).toBe(`udp+tcp 127.0.0.1:${port}; upstreams 127.0.0.1:${up.port}; cache 0/10000; 0 queries`);
    expect(n.received()).toHaveLength(1); // no watchdog asked for, none sent
    await proc.waitForLog(pinoMsg('ready', { notify: true }));
  });

  it('works with an abstract-namespace NOTIFY_SOCKET (@...)', async () => {
    const up = await upstream();
    const n = await notifySocket(true);
    await resolverWith({ NOTIFY_SOCKET: n.address }, up);
    expect((await n.waitFor('READY')).fields['READY']).toBe('1');
  });

  it('WATCHDOG=1 at half of WATCHDOG_USEC, from the event loop', async () => {
    const up = await upstream();
    const n = await notifySocket();
    await resolverWith({ NOTIFY_SOCKET: n.address, WATCHDOG_USEC: '400000' }, up);
    await n.waitFor('READY');
    const first = await n.waitFor('WATCHDOG');
    await n.waitFor('WATCHDOG', n.received().indexOf(first) + 5, 5_000);
    const pings = n.received().filter((m) => m.fields['WATCHDOG'] === '1').map((m) => m.t);
    const gaps = pings.slice(1).map((t, i) => t - pings[i]!);
    for (const g of gaps.slice(1)) {
      expect(g).toBeGreaterThan(0.12);
      expect(g).toBeLessThan(0.35); // 200 ms nominal; well inside the 400 ms timeout
    }
  });

  it('no WATCHDOG=1 when WATCHDOG_PID names another process', async () => {
    const up = await upstream();
    const n = await notifySocket();
    await resolverWith({ NOTIFY_SOCKET: n.address, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' }, up);
    await n.waitFor('READY');
    await new Promise((r) => setTimeout(r, 600));
    expect(n.received().filter((m) => 'WATCHDOG' in m.fields)).toEqual([]);
  });

  it('RELOADING=1 with MONOTONIC_USEC, then READY=1, around SIGHUP; STOPPING=1 on SIGTERM', async () => {
    const up = await upstream();
    const n = await notifySocket();
    const { proc } = await resolverWith({ NOTIFY_SOCKET: n.address }, up);
    await n.waitFor('READY');
    proc.child.kill('SIGHUP');
    const reloading = await n.waitFor('RELOADING', 1);
    const readyAgain = await n.waitFor('READY', 2);
    expect(reloading.fields['RELOADING']).toBe('1');
    // CLOCK_MONOTONIC in µs, taken just before sending: close to the receiver's clock.
    const usec = Number(reloading.fields['MONOTONIC_USEC']);
    expect(Math.abs(usec / 1e6 - reloading.t)).toBeLessThan(1);
    expect(readyAgain.t).toBeGreaterThanOrEqual(reloading.t);
    await proc.waitForLog(pinoMsg('configuration reloaded, nothing changed'));

    const exit = await proc.stop();
    expect(exit.code).toBe(0);
    const stopping = n.received().find((m) => 'STOPPING' in m.fields);
    expect(stopping?.fields).toEqual({ STOPPING: '1', STATUS: 'stopping' });
  });
});

describe('journal log format', () => {
  it('LogFormat=journal: one line per event with a <N> priority prefix and no timestamp', async () => {
    const up = await upstream();
    const port = await freePort();
    const conf = configFile(['[Resolve]', `Listen=127.0.0.1:${port}`, `DNS=127.0.0.1:${up.port}`, 'LogFormat=journal']);
    cleanups.push(async () => conf.remove());
    const proc = spawnResolver(null, ['--config', conf.path]);
    cleanups.push(() => proc.stop());
    const ready = await proc.waitForLog((l) => l.text.startsWith('<6>ready '));
    expect(ready.text).toBe(`<6>ready vrf=default listeners=["udp 127.0.0.1:${port}","tcp 127.0.0.1:${port}"] upstreams=["127.0.0.1:${up.port}"] ` +
      `upstreamDevice=null sources=["DNS= in ${conf.path}"] cacheMaxEntries=10000`);
  });

  it('auto: journal format when stdout is the stream named by JOURNAL_STREAM (as systemd sets it)', async () => {
    const up = await upstream();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-journal-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const out = openSync(join(dir, 'stdout'), 'w');
    const st = fstatSync(out, { bigint: true });
    const child = spawn(process.execPath, [RESOLVER_MAIN, 'run', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${up.port}`, '--control', ''], {
      stdio: ['ignore', out, out],
      env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
    });
    closeSync(out);
    const proc = new ManagedProcess(child, 'resolver (journal)');
    cleanups.push(() => proc.stop());
    await waitFor('the ready line', () => (readFileSync(join(dir, 'stdout'), 'utf8').includes('<6>ready ') ? true : undefined), 10_000);
    expect((await proc.stop()).code).toBe(0);
    const lines = readFileSync(join(dir, 'stdout'), 'utf8').trim().split('\n');
    expect(lines.every((l) => /^<[0-7]>/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.at(-1)).toMatch(/^<6>stopped vrf=default stats=\{/);
  });
});
