// Following the device (issue 12) with real sockets and the real kernel's netlink, in network
// namespaces. This kernel has no VRF, so a bridge stands in for it: a master device with an
// enslaved NIC, like a VRF with its eth0. Deleting the bridge leaves the NIC and the upstream
// side alone, as deleting a VRF does; what a real VRF does is the VM lab's (test/vrf).
//
//   C: bridge fdb0 10.57.0.1/24 (the "VRF") ── port fdp0 ══ veth ══ U: eth0 10.57.0.2 (dnsmasq; dig as the client)
//
// The resolver runs in C with --vrf fdb0 and listens on 10.57.0.1:53: the bridge's address, so a
// query from U reaches the listener only through fdb0, and upstream queries leave through it.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/control/types.js';
import { answers, digQuery } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { runOk, sleep } from '../helpers/exec.js';
import { Netns, cleanupStale } from '../helpers/netns.js';
import { RESOLVER_MAIN, pinoMsg, spawnResolver, type ManagedProcess } from '../helpers/process.js';

const BR = 'fdb0';
const PORT_DEV = 'fdp0';
const SERVER = '10.57.0.1';
const UPSTREAM = '10.57.0.2';

let c: Netns;
let u: Netns;
let up: UpstreamServer;
let dir: string;

beforeAll(async () => {
  await cleanupStale();
  c = await Netns.create('fdc');
  u = await Netns.create('fdu');
  await runOk('ip', ['-n', c.name, 'link', 'add', PORT_DEV, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', u.name]);
  await runOk('ip', ['-n', c.name, 'link', 'set', PORT_DEV, 'up']);
  await runOk('ip', ['-n', u.name, 'addr', 'add', `${UPSTREAM}/24`, 'dev', 'eth0']);
  await runOk('ip', ['-n', u.name, 'link', 'set', 'eth0', 'up']);
  up = await startDnsmasq(u, {
    listen: [UPSTREAM],
    records: [
      { name: 'www.example.test', type: 'A', value: '192.0.2.1', ttl: 3600 },
      { name: 'cached.example.test', type: 'A', value: '192.0.2.7', ttl: 3600 },
    ],
  });
  dir = c.makeTempDir('follow');
}, 60_000);

afterAll(async () => {
  await up?.stop().catch(() => undefined);
  await c?.destroy();
  await u?.destroy();
}, 30_000);

/** What ifupdown2 or a script does: the master device, its port, up, its address. Returns the new ifindex. */
async function createBridge(): Promise<number> {
  await runOk('ip', ['-n', c.name, 'link', 'add', BR, 'type', 'bridge']);
  await runOk('ip', ['-n', c.name, 'link', 'set', PORT_DEV, 'master', BR]);
  await runOk('ip', ['-n', c.name, 'link', 'set', BR, 'up']);
  await runOk('ip', ['-n', c.name, 'addr', 'add', `${SERVER}/24`, 'dev', BR]);
  const r = await runOk('ip', ['-n', c.name, '-j', 'link', 'show', 'dev', BR]);
  return (JSON.parse(r.stdout) as { ifindex: number }[])[0]!.ifindex;
}

async function deleteBridge(): Promise<void> {
  await runOk('ip', ['-n', c.name, 'link', 'del', BR]);
}

async function status(sock: string): Promise<StatusReport> {
  const r = await c.exec(RESOLVER_MAIN, ['status', '--control', sock, '--json'], { timeoutMs: 15_000 });
  return JSON.parse(r.stdout) as StatusReport;
}

/** Asks from U until the answer comes, at most `ms`; the time it took, or null. */
async function answeredWithin(name: string, want: string, ms: number): Promise<number | null> {
  const t0 = Date.now();
  for (let i = 0; i < 200 && Date.now() - t0 < ms; i++) {
    const r = await digQuery(u, SERVER, name, 'A', { extra: ['+time=1'] }).catch(() => null);
    if (r !== null && answers(r).includes(want)) return Date.now() - t0;
    await sleep(50);
  }
  return null;
}

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe('the resolver follows its device', () => {
  let proc: ManagedProcess;
  const sock = (): string => `${dir}/fd.sock`;

  afterAll(async () => {
    await proc?.stop().catch(() => undefined);
  });

  it('started before the device exists, it waits, then listens once the device and its address are there', async () => {
    proc = spawnResolver(c, ['--vrf', BR, '--listen', `${SERVER}:53`, '--upstream', UPSTREAM, '--allow-from', '10.57.0.0/24', '--control', sock(), '--wait-for-device', '60']);
    await proc.waitForLog(pinoMsg(`waiting for the device ${BR} to appear`), 15_000);
    await createBridge();
    await proc.waitForLog(pinoMsg('ready'), 15_000);
    expect(await answeredWithin('www.example.test', '192.0.2.1', 10_000)).not.toBeNull();
    const s = await status(sock());
    expect(s.vrf).toMatchObject({ name: BR, following: true, present: true });
    expect(s.listeners).toEqual([`udp ${SERVER}:53 on ${BR}`, `tcp ${SERVER}:53 on ${BR}`]);
  });

  it('deleted: keeps running and says so; created again: listens on the new device within a second or two, cache kept', async () => {
    expect(await answeredWithin('cached.example.test', '192.0.2.7', 5_000)).not.toBeNull();
    const upstreamBefore = up.queryCount('cached.example.test', 'A');
    expect(upstreamBefore).toBe(1);
    const before = (await status(sock())).vrf.ifindex;

    await deleteBridge();
    await proc.waitForLog(pinoMsg(`${BR} is gone`), 10_000);
    const gone = await status(sock());
    expect(gone.vrf).toMatchObject({ present: false, ifindex: null });
    expect(gone.listeners).toEqual([]);
    expect(gone.waitingListeners).toEqual([`udp+tcp ${SERVER}:53 on ${BR}`]);

    const ifindex = await createBridge();
    expect(ifindex).not.toBe(before);
    // The issue asks for answers within 1 s of the kernel's event; this bound only keeps a slow,
    // shared CI machine from failing the test. The measured time is in the log line.
    const took = await answeredWithin('www.example.test', '192.0.2.1', 10_000);
    expect(took).not.toBeNull();
    console.log(`answers resumed ${took} ms after the device and its address were back`);
    const back = await proc.waitForLog(pinoMsg(`${BR} was created again`), 5_000);
    expect(back.json).toMatchObject({ oldIfindex: before, ifindex });
    // The cache survived: answered again without another upstream query.
    expect(await answeredWithin('cached.example.test', '192.0.2.7', 5_000)).not.toBeNull();
    expect(up.queryCount('cached.example.test', 'A')).toBe(upstreamBefore);
    expect((await status(sock())).vrf).toMatchObject({ ifindex, present: true });
  });

  it('re-created at once, 20 times in a row: answers every time, and leaks no file descriptor', async () => {
    const pid = proc.child.pid!;
    const fds = fdCount(pid);
    for (let i = 0; i < 20; i++) {
      await deleteBridge();
      await createBridge();
      expect(await answeredWithin('www.example.test', '192.0.2.1', 10_000), `re-creation ${i + 1}`).not.toBeNull();
    }
    // Closed sockets are released on the event loop: give it a moment, bounded.
    let now = fdCount(pid);
    for (let i = 0; i < 50 && now > fds; i++) {
      await sleep(100);
      now = fdCount(pid);
    }
    expect(now).toBeLessThanOrEqual(fds);
    expect(proc.lines.filter((l) => l.json?.['level'] === 'error' || l.json?.['level'] === 'fatal')).toEqual([]);
  });

  it('stopped while it waits for the device: exits 0 at once (systemctl stop does not wait out WaitForDeviceSec)', async () => {
    const p = spawnResolver(c, ['--vrf', 'fdnone1', '--listen', `${SERVER}:5354`, '--upstream', UPSTREAM, '--wait-for-device', '600']);
    await p.waitForLog(pinoMsg('waiting for the device fdnone1 to appear'), 15_000);
    const exit = await p.stop(5_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(p.lines.some((l) => l.json?.['msg'] === 'stopped before the device appeared')).toBe(true);
  });

  it('--wait-for-device 0 fails at once with ENODEV, as before', async () => {
    const p = spawnResolver(c, ['--vrf', 'fdnone0', '--listen', `${SERVER}:5353`, '--upstream', UPSTREAM, '--wait-for-device', '0']);
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(p.lines.map((l) => l.text).join('\n')).toMatch(/ENODEV/);
  });
});

describe('with --workers 2, every worker follows the device', () => {
  it('deleted and created again: each worker closes and re-opens its listeners, and each answers', async () => {
    const s = `${dir}/fdw.sock`;
    // The tests above leave the bridge there; alone (-t), this one makes it.
    if ((await c.exec('ip', ['link', 'show', 'dev', BR], { timeoutMs: 5_000 })).code !== 0) await createBridge();
    const p = spawnResolver(c, ['--vrf', BR, '--listen', `${SERVER}:5355`, '--upstream', UPSTREAM, '--allow-from', '10.57.0.0/24',
      '--control', s, '--workers', '2']);
    try {
      await p.waitForLog(pinoMsg('control socket ready'), 20_000);
      await deleteBridge();
      await p.waitForLog(pinoMsg(`${BR} is gone`), 10_000);
      const gone = await status(s);
      expect(gone.workers!.map((w) => w.waitingListeners)).toEqual([[`udp+tcp ${SERVER}:5355 on ${BR}`], [`udp+tcp ${SERVER}:5355 on ${BR}`]]);
      await createBridge();
      await p.waitForLog(pinoMsg(`${BR} was created again`), 10_000);
      const back = await status(s);
      expect(back.workers!.map((w) => [w.state, w.waitingListeners])).toEqual([['running', undefined], ['running', undefined]]);
      // 30 queries from new source ports: the kernel gives each worker some (all to one: 2^-29).
      for (let i = 0; i < 30; i++) {
        expect((await digQuery(u, SERVER, `w${i}.example.test`, 'A', { port: 5355 })).status, `query ${i}`).toBe('NXDOMAIN');
      }
      const stats = JSON.parse((await c.exec(RESOLVER_MAIN, ['statistics', '--json', '--control', s], { timeoutMs: 15_000 })).stdout) as {
        workers: { counters: { queries: number } }[];
      };
      for (const w of stats.workers) expect(w.counters.queries).toBeGreaterThan(0);
    } finally {
      await p.stop().catch(() => undefined);
    }
  }, 60_000);
});
