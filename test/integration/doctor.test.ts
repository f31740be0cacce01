// `vrf-resolver doctor`, the real binary (dist/main.js), inside a network namespace of its own:
// faults are made in the namespace (its rules and its l3mdev sysctls are its own; its
// resolv.conf is /etc/netns/NAME/resolv.conf), doctor must report each with its fix, the
// printed fix is applied in the namespace, and doctor must then pass. This kernel has no vrf
// module, so the checks about a VRF device run here for the default VRF and for a missing
// VRF; the rest are unit-tested on recorded facts and run for real in the VM lab.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/doctor/finding.js';
import type { DoctorReport } from '../../src/doctor/run.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { run, runOk } from '../helpers/exec.js';
import { Netns, cleanupStale } from '../helpers/netns.js';
import { RESOLVER_MAIN, pinoMsg, spawnResolver, type ManagedProcess } from '../helpers/process.js';

let ns: Netns;
let dir: string;
let up: UpstreamServer | undefined;
let instance: ManagedProcess | undefined;

beforeAll(async () => {
  await cleanupStale();
  ns = await Netns.create('doc');
  dir = ns.makeTempDir('control');
  ns.writeResolvConf('nameserver 127.0.0.1\n');
}, 30_000);

afterAll(async () => {
  await instance?.stop().catch(() => undefined);
  await up?.stop().catch(() => undefined);
  await ns?.destroy();
}, 30_000);

async function doctor(...args: string[]): Promise<{ code: number | null; report: DoctorReport; err: string }> {
  const r = await ns.exec(RESOLVER_MAIN, ['doctor', ...args, '--control-dir', dir, '--json'], { timeoutMs: 20_000 });
  return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport, err: r.stderr };
}
const of = (r: DoctorReport, id: string): Finding[] => r.findings.filter((f) => f.check === id);

/** Runs a printed fix line inside the namespace (only the ones that change the namespace, never /etc). */
async function apply(fix: string): Promise<void> {
  expect(fix).not.toMatch(/\/etc\//);
  await runOk('ip', ['netns', 'exec', ns.name, 'sh', '-c', fix]);
}

describe('vrf-resolver doctor in a network namespace', () => {
  it('rule order: an l3mdev rule after the kernel\'s "0: lookup local" is FAIL with the move; the printed fix makes it PASS', async () => {
    for (const ip of [[], ['-6']]) await runOk('ip', ['-n', ns.name, ...ip, 'rule', 'add', 'pref', '1000', 'l3mdev', 'protocol', 'kernel']);
    const before = await doctor('default');
    expect(before.code).toBe(1);
    const fails = of(before.report, 'rule-order');
    expect(fails.map((f) => [f.level, f.fix])).toEqual([
      ['FAIL', ['ip rule add pref 32765 table local protocol kernel && ip rule del pref 0']],
      ['FAIL', ['ip -6 rule add pref 32765 table local protocol kernel && ip -6 rule del pref 0']],
    ]);
    for (const f of fails) await apply(f.fix![0]!);
    const after = await doctor('default');
    expect(of(after.report, 'rule-order').map((f) => f.level)).toEqual(['PASS', 'PASS']);
    expect(of(after.report, 'rule-order')[0]!.message).toBe('IPv4 rules: l3mdev (pref 1000) before local (pref 32765)');
  });

  it('udp_l3mdev_accept=1 is WARN with the sysctl; after it, PASS', async () => {
    await runOk('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv4.udp_l3mdev_accept=1']);
    const [w] = of((await doctor('default')).report, 'l3mdev-accept');
    expect(w!.level).toBe('WARN');
    expect(w!.fix![0]).toBe('sysctl -w net.ipv4.udp_l3mdev_accept=0');
    await apply(w!.fix![0]!); // the second line persists it in /etc/sysctl.d: the host's, not ours to touch
    expect(of((await doctor('default')).report, 'l3mdev-accept').map((f) => f.level)).toEqual(['PASS']);
  });

  it('no instance, with resolv.conf at 127.0.0.1: FAIL; a running instance is found, answers a query from inside, and nothing else fails', async () => {
    const none = await doctor('default');
    expect(of(none.report, 'instance').map((f) => f.level)).toEqual(['FAIL']);
    expect(none.code).toBe(1);

    up = await startDnsmasq(ns, { listen: ['127.0.0.2'], records: [{ name: 'www.example.test', type: 'A', value: '192.0.2.1', ttl: 300 }] });
    instance = spawnResolver(ns, ['--listen', '127.0.0.1', '--upstream', '127.0.0.2', '--control', `${dir}/default.sock`]);
    await instance.waitForLog(pinoMsg('control socket ready'), 15_000);
    const r = await doctor();
    expect(r.report.summary.vrfs).toEqual([null]); // no VRF device in the namespace: the default VRF only
    const by = (id: string): string[] => of(r.report, id).map((f) => `${f.level} ${f.message}`);
    expect(by('instance')[0]).toMatch(new RegExp(`^PASS instance default \\(pid \\d+, version [^)]+\\) serves the default VRF and answers on ${dir}/default\\.sock$`));
    expect(by('instance-listeners')).toEqual(['PASS instance default listens on udp 127.0.0.1:53, tcp 127.0.0.1:53']);
    expect(by('query')[0]).toMatch(/^PASS "\. NS" sent from the default VRF to udp 127\.0\.0\.1:53 was answered \([A-Z]+\)$/);
    expect(by('upstream-route')).toEqual(['PASS 127.0.0.2 is routed through the default VRF via lo']);
    expect(by('port-53')).toEqual(['PASS no other process holds port 53 on the default VRF\'s addresses']);
    expect(by('resolv-conf')[0]).toMatch(/^PASS \/etc\/resolv\.conf names 127\.0\.0\.1/);
    // Under systemd as PID 1 (not this machine) the unit would be checked too: nothing else may fail.
    const failed = r.report.findings.filter((f) => f.level === 'FAIL').map((f) => f.check);
    expect(failed.filter((c) => c !== 'instance-unit')).toEqual([]);
    expect(r.code).toBe(failed.length > 0 ? 1 : 0);
  });

  it('another process on the wildcard [::]:53 is FAIL naming it', async () => {
    const hog = ns.spawn('python3', ['-c', 'import socket,time\ns=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\ns.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,1)\ns.bind(("::",53))\nprint("bound",flush=True)\ntime.sleep(60)']);
    try {
      await new Promise<void>((resolve, reject) => {
        hog.stdout!.once('data', () => resolve());
        hog.once('exit', (c) => reject(new Error(`python exited ${String(c)}`)));
      });
      const [f] = of((await doctor('default')).report, 'port-53');
      expect(f!.level).toBe('FAIL');
      expect(f!.message).toBe(`python3 (pid ${hog.pid}) holds udp [::]:53 where vrf-resolver@default listens: they conflict (EADDRINUSE) or share its queries`);
      expect(f!.fix).toEqual([`ps -o unit= -p ${hog.pid}   # the unit that runs python3; then: systemctl disable --now UNIT`]);
    } finally {
      hog.kill('SIGKILL');
    }
  });

  it('a VRF that does not exist: FAIL and exit 1; a bad name: usage, exit 2', async () => {
    const r = await doctor('nosuchvrf');
    expect(r.code).toBe(1);
    expect(of(r.report, 'vrf-device')).toEqual([{ level: 'FAIL', check: 'vrf-device', vrf: 'nosuchvrf', message: 'no device named nosuchvrf (VRF devices here: none)',
      fix: ['ip link add nosuchvrf type vrf table 1000 && ip link set nosuchvrf up   # 1000: a table no VRF here uses'] }]);
    const human = await run('ip', ['netns', 'exec', ns.name, RESOLVER_MAIN, 'doctor', 'nosuchvrf', '--control-dir', dir]);
    expect(human.stdout).toMatch(/^FAIL \[nosuchvrf\] vrf-device: no device named nosuchvrf/m);
    expect(human.stdout).toMatch(/^ {2}fix: ip link add nosuchvrf type vrf table 1000/m);
    const bad = await run(RESOLVER_MAIN, ['doctor', 'a/b']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"a\/b" is not a valid interface name/);
  });
});
