// The unit's privileged step `vrf-resolver ensure-loopback` in a network namespace of our own:
// it adds the loopback addresses the listeners need to the device, says what it added, and
// does nothing twice. `run` itself never changes the network, even as root.
// This kernel has no VRF, so a veth stands in. The kernel takes ::1 only on lo and on VRF
// devices (l3mdev masters), so here the listeners are IPv4 only; ::1/128 on a real VRF is
// the VM lab's (test/vrf), and the refusal on a veth is checked below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../helpers/netns.js';
import { runOk } from '../helpers/exec.js';
import { RESOLVER_MAIN, pinoMsg, spawnResolver, type LogLine } from '../helpers/process.js';
import { configFile } from './systemd-helpers.js';

let ns: Netns;

beforeAll(async () => {
  ns = await Netns.create('lb');
  for (const dev of ['vlb0', 'vlb1']) {
    await runOk('ip', ['-n', ns.name, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
    await runOk('ip', ['-n', ns.name, 'link', 'set', dev, 'up']);
  }
});
afterAll(async () => {
  await ns?.destroy();
});

async function ensure(...args: string[]): Promise<{ code: number | null; logs: Record<string, unknown>[]; text: string }> {
  const r = await ns.exec(process.execPath, [RESOLVER_MAIN, 'ensure-loopback', ...args], { timeoutMs: 15_000 });
  const logs = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: r.code, logs, text: r.stdout + r.stderr };
}

async function addressesOn(dev: string): Promise<string[]> {
  const r = await runOk('ip', ['-n', ns.name, '-j', 'addr', 'show', 'dev', dev]);
  const links = JSON.parse(r.stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
  return links.flatMap((l) => l.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).filter((x) => !x.startsWith('fe80'));
}

describe('ensure-loopback', () => {
  it('adds what the listeners need to the device and logs it; a second run finds it', async () => {
    const v4 = ['--vrf', 'vlb0', '--listen', '127.0.0.1', '--upstream', '192.0.2.1'];
    const first = await ensure(...v4);
    expect(first.code, first.text).toBe(0);
    expect(first.logs).toContainEqual(expect.objectContaining({ msg: 'loopback addresses added', device: 'vlb0', added: ['127.0.0.1/8'], vrf: 'vlb0' }));
    // The unit's privileged step says it too, where the sandboxed resolver cannot ask netlink.
    expect(first.logs).toContainEqual(expect.objectContaining({ level: 'warn', device: 'vlb0', msg: expect.stringMatching(/^vlb0 is a veth device, not a VRF/) }));
    expect(await addressesOn('vlb0')).toEqual(['127.0.0.1/8']);

    const again = await ensure(...v4);
    expect(again.code).toBe(0);
    expect(again.logs).toContainEqual(expect.objectContaining({ msg: 'loopback addresses already present', added: [], present: ['127.0.0.1/8'] }));

    // The default Listen= has ::1 too: refused on a device that is not a VRF, and said so.
    const v6 = await ensure('--vrf', 'vlb0', '--upstream', '192.0.2.1');
    expect(v6.code).toBe(1);
    expect(v6.logs).toContainEqual(expect.objectContaining({ err: expect.stringMatching(/::1\/128 dev vlb0 nodad: .*\(is vlb0 a VRF device\?/) }));
  });

  it('nothing to do in the default VRF, or with AddLoopbackAddresses=no', async () => {
    expect((await ensure('--upstream', '192.0.2.1')).logs).toContainEqual(expect.objectContaining({ msg: 'no loopback addresses to add', reason: 'the default VRF uses lo' }));
    const conf = configFile(['[Resolve]', 'DNS=192.0.2.1', 'AddLoopbackAddresses=no']);
    try {
      const r = await ensure('--config', conf.path, '--vrf', 'vlb1');
      expect(r.logs).toContainEqual(expect.objectContaining({ msg: 'no loopback addresses to add', reason: 'AddLoopbackAddresses=no' }));
      expect(await addressesOn('vlb1')).toEqual([]);
    } finally {
      conf.remove();
    }
  });

  it('a device that is not there yet is no failure (the unit runs it again when it appears); 78 on a bad config', async () => {
    const r = await ensure('--vrf', 'nodev0', '--upstream', '192.0.2.1');
    expect(r.code, r.text).toBe(0);
    expect(r.logs).toContainEqual(expect.objectContaining({ level: 'warn', device: 'nodev0', msg: expect.stringMatching(/^nodev0 does not exist \(yet\): nothing to add now/) }));
    expect((await ensure('--vrf', 'vlb1')).code).toBe(78); // no upstream: the same check as run
  });

  it('run never adds them itself, even as root', async () => {
    // On a veth 127.0.0.1 binds without the address on the device (it is local through lo), so
    // the resolver starts; on a VRF it would fail with EADDRNOTAVAIL and name the fix.
    const proc = spawnResolver(ns, ['--vrf', 'vlb1', '--listen', '127.0.0.1:5353', '--upstream', '192.0.2.1']);
    try {
      const ready: LogLine = await proc.waitForLog(pinoMsg('ready'), 10_000);
      expect(ready.json!['listeners']).toEqual(['udp 127.0.0.1:5353 on vlb1', 'tcp 127.0.0.1:5353 on vlb1']);
      expect(await addressesOn('vlb1')).toEqual([]);
      // --vrf names a veth, not a VRF: it runs (that binding works), and says what it means.
      const w = await proc.waitForLog(pinoMsg('is a veth device, not a VRF'), 10_000);
      expect(w.json).toMatchObject({ level: 'warn', device: 'vlb1' });
    } finally {
      await proc.stop();
    }
  });
});
