// doctor/: every check on recorded facts. A healthy VRF host (mgmt, with its instance and the
// default VRF's) gives only PASS; each fault of issue 11, made by changing one fact, gives the
// exact level, check id and fix commands. Fixtures: test/fixtures/host/README.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/control/types.js';
import { CAP_NET_RAW_DROP_IN } from '../../src/doctor/checks-vrf.js';
import type { Finding } from '../../src/doctor/finding.js';
import { renderFindings, runChecks, summarize, vrfsToCheck } from '../../src/doctor/run.js';
import { known, unknown, type HostFacts } from '../../src/host/facts.js';
import { parseAddresses, parseLinks, parseRules, parseSs } from '../../src/host/parse.js';

const fx = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'host', name), 'utf8');
const withoutLast = (s: string): string => s.trim().split('\n').slice(0, -1).join('\n');

const upstream = { server: '192.0.2.53:53', state: 'healthy' as const, backoffUntil: null, consecutiveFailures: 0, queries: 10, failures: 1, failuresByCode: {}, timeouts: 1, tcpFallbacks: 0, rttMs: 4.2, lastError: null };
function status(vrf: string | null, extra: Partial<StatusReport> = {}): StatusReport {
  const on = vrf === null ? '' : ` on ${vrf}`;
  return {
    instance: vrf ?? 'default', version: '0.1.0', pid: vrf === null ? 640 : 812, startedAt: '2026-01-01T00:00:00.000Z', uptimeSec: 60,
    vrf: { name: vrf, ifindex: vrf === null ? null : 5 }, upstreamDevice: vrf,
    listeners: [`udp 127.0.0.1:53${on}`, `tcp 127.0.0.1:53${on}`, ...(vrf === null ? [] : [`udp [::1]:53${on}`, `tcp [::1]:53${on}`])],
    configFiles: [], controlSocket: `/run/vrf-resolver/${vrf ?? 'default'}.sock`, metrics: null, logLevel: 'info',
    upstreams: [upstream], cache: { enabled: true, entries: 1, bytes: 700, maxEntries: 10000, maxBytes: 67108864, evictions: 0 }, inflight: 0, ...extra,
  };
}

/** The healthy host: mgmt set up as the README says, an instance for it and one for the default VRF. */
function healthy(): HostFacts {
  return {
    kernel: { release: known('6.1.0-18-amd64'), vrfModule: known('loaded') },
    links: known(parseLinks(fx('link-vrf.json'))),
    addresses: known(parseAddresses(fx('addr-vrf.json'))),
    rules: { v4: known(parseRules(fx('rule4-fixed.json'))), v6: known(parseRules(fx('rule6-fixed.json'))) },
    sysctls: { tcpL3mdevAccept: known(0), udpL3mdevAccept: known(0) },
    resolvConf: known({ path: '/etc/resolv.conf', symlinkTarget: null, nameservers: ['127.0.0.1', '::1'], search: [], options: [] }),
    nsswitchHosts: known(['files', 'dns']),
    systemd: {
      pid1: true,
      units: known({
        'vrf-resolver@mgmt.service': { activeState: 'active', unitFileState: 'enabled' },
        'vrf-resolver@default.service': { activeState: 'active', unitFileState: 'enabled' },
        'systemd-resolved.service': { activeState: 'inactive', unitFileState: 'disabled' },
      }),
      dropIns: known([]),
    },
    controlDir: '/run/vrf-resolver',
    instances: known([
      { instance: 'default', socket: '/run/vrf-resolver/default.sock', running: true, status: known(status(null)) },
      { instance: 'mgmt', socket: '/run/vrf-resolver/mgmt.sock', running: true, status: known(status('mgmt')) },
    ]),
    // The recorded VRF host, without its last line (a wildcard socket nobody owns: the port-53 fault).
    port53: known([...parseSs(fx('ss-udp-vrf.txt'), 'udp'), ...parseSs(withoutLast(fx('ss-tcp-vrf.txt')), 'tcp')]),
    routes: [
      { via: null, address: '192.0.2.53', route: known({ dev: 'eth1', gateway: '198.51.100.1' }) },
      { via: 'mgmt', address: '192.0.2.53', route: known({ dev: 'eth0', gateway: '192.0.2.1' }) },
    ],
    probes: [
      { instance: 'default', to: 'udp 127.0.0.1:53', rcode: known('NOERROR') },
      { instance: 'mgmt', to: 'udp 127.0.0.1:53', rcode: known('NOERROR') },
    ],
  };
}

const check = (facts: HostFacts, vrf: string | null, id: string): Finding[] => runChecks(facts, [vrf]).filter((f) => f.check === id);
const levels = (fs: Finding[]): string[] => fs.map((f) => f.level);

describe('the healthy host', () => {
  it('every check passes for mgmt and the default VRF; exit would be 0', () => {
    const findings = runChecks(healthy(), [null, 'mgmt']);
    expect(findings.filter((f) => f.level !== 'PASS')).toEqual([]);
    expect([...new Set(findings.filter((f) => f.vrf === 'mgmt').map((f) => f.check))]).toEqual([
      'kernel-vrf', 'vrf-device', 'loopback', 'rule-order', 'capabilities', 'l3mdev-accept', 'resolv-conf', 'nsswitch', 'systemd-resolved',
      'instance-unit', 'instance', 'instance-listeners', 'instance-ifindex', 'upstreams', 'query', 'upstream-route', 'port-53',
    ]);
    expect(check(healthy(), 'mgmt', 'vrf-device')[0]!.message).toBe('mgmt is a VRF device (table 1000, ifindex 5), up');
    expect(summarize(findings, [null, 'mgmt'])).toMatchObject({ warn: 0, fail: 0 });
  });

  it('picks every VRF device after the default VRF, or the ones asked about', () => {
    const links = healthy().links;
    expect(vrfsToCheck(links, [])).toEqual([null, 'blue', 'mgmt']);
    expect(vrfsToCheck(links, ['mgmt', 'default', 'mgmt'])).toEqual(['mgmt', null]);
    expect(vrfsToCheck(unknown('no ip'), [])).toEqual([null]);
  });
});

describe('1. kernel and VRF device', () => {
  it('no vrf module and no VRF device: FAIL with modprobe', () => {
    const f = { ...healthy(), links: known(parseLinks(fx('link-veth.json'))), kernel: { release: known('6.1.0-18-amd64'), vrfModule: known('absent' as const) } };
    expect(check(f, 'mgmt', 'kernel-vrf')).toEqual([{ level: 'FAIL', check: 'kernel-vrf', vrf: 'mgmt', message: 'this kernel (6.1.0-18-amd64) has no vrf module: no VRF device can be created',
      fix: ['modprobe vrf', 'apt-get install linux-modules-extra-6.1.0-18-amd64   # Ubuntu ships vrf.ko there; on Debian it is in linux-image'] }]);
  });

  it('a missing device, a device of another kind, a VRF that is down', () => {
    expect(check(healthy(), 'red', 'vrf-device')).toEqual([{ level: 'FAIL', check: 'vrf-device', vrf: 'red', message: 'no device named red (VRF devices here: mgmt, blue)',
      // mgmt has table 1000 and blue 1001: the hint names the first free one.
      fix: ['ip link add red type vrf table 1002 && ip link set red up   # 1002: a table no VRF here uses'] }]);
    const eth = check(healthy(), 'eth1', 'vrf-device')[0]!;
    expect([eth.level, eth.message]).toEqual(['FAIL', 'eth1 is not a VRF device (a plain device): sockets bound to it are in no VRF']);
    expect(eth.fix![1]).toBe('ip link add VRF type vrf table 1002 && ip link set VRF up && ip link set eth1 master VRF   # VRF: the new VRF\'s name');
    expect(check(healthy(), 'blue', 'vrf-device')).toEqual([{ level: 'FAIL', check: 'vrf-device', vrf: 'blue', message: 'blue is a VRF device (table 1001, ifindex 6), but it is down: nothing is routed in it', fix: ['ip link set blue up'] }]);
  });
});

describe('2. loopback addresses on the VRF device', () => {
  it('missing 127.0.0.1/8 and ::1/128: FAIL each, with the ip addr add that fixes it', () => {
    const f = { ...healthy(), addresses: known(parseAddresses(fx('addr-vrf.json')).filter((a) => a.device !== 'mgmt')) };
    expect(check(f, 'mgmt', 'loopback')).toEqual([
      { level: 'FAIL', check: 'loopback', vrf: 'mgmt', message: '127.0.0.1/8 is not on mgmt: a listener on 127.0.0.1 in mgmt cannot bind (EADDRNOTAVAIL); vrf-resolver ensure-loopback --vrf mgmt adds both, and vrf-resolver-net@mgmt runs it whenever the device appears',
        fix: ['ip addr add 127.0.0.1/8 dev mgmt'] },
      { level: 'FAIL', check: 'loopback', vrf: 'mgmt', message: '::1/128 is not on mgmt: a listener on ::1 in mgmt cannot bind (EADDRNOTAVAIL); vrf-resolver ensure-loopback --vrf mgmt adds both, and vrf-resolver-net@mgmt runs it whenever the device appears',
        fix: ['ip -6 addr add ::1/128 dev mgmt nodad'] },
    ]);
  });
});

describe('3. rule order, IPv4 and IPv6 (recorded from a namespace)', () => {
  const localFirst = (): HostFacts => ({ ...healthy(), rules: { v4: known(parseRules(fx('rule4-local-first.json'))), v6: known(parseRules(fx('rule6-local-first.json'))) } });
  it('local at pref 0 before l3mdev: FAIL both families with the move', () => {
    const fs = check(localFirst(), 'mgmt', 'rule-order');
    expect(levels(fs)).toEqual(['FAIL', 'FAIL']);
    expect(fs.map((f) => f.fix)).toEqual([['ip rule add pref 32765 table local protocol kernel && ip rule del pref 0'], ['ip -6 rule add pref 32765 table local protocol kernel && ip -6 rule del pref 0']]);
    expect(fs[0]!.message).toBe('IPv4 rules: "lookup local" (pref 0) comes before l3mdev (pref 1000): 127.0.0.1 asked from mgmt goes to lo in the default VRF, not to vrf-resolver@mgmt');
    expect(levels(check(localFirst(), null, 'rule-order'))).toEqual(['FAIL', 'FAIL']);
  });
  it('the fixed order passes; a stock namespace (no l3mdev rule) is fine for the default VRF only', () => {
    expect(levels(check(healthy(), 'mgmt', 'rule-order'))).toEqual(['PASS', 'PASS']);
    const stock = { ...healthy(), rules: { v4: known(parseRules(fx('rule4-stock.json'))), v6: known(parseRules(fx('rule6-stock.json'))) } };
    expect(check(stock, null, 'rule-order')).toEqual([]);
    expect(check(stock, 'mgmt', 'rule-order').map((f) => [f.level, f.fix])).toEqual([['FAIL', ['ip rule add pref 1000 l3mdev protocol kernel']], ['FAIL', ['ip -6 rule add pref 1000 l3mdev protocol kernel']]]);
  });
  it('local both before and after l3mdev: only the delete', () => {
    const v4 = known(parseRules('[{"priority":0,"src":"all","table":"local"},{"priority":1000,"src":"all","l3mdev":null},{"priority":32765,"src":"all","table":"local"}]'));
    expect(check({ ...healthy(), rules: { ...healthy().rules, v4 } }, 'mgmt', 'rule-order')[0]!.fix).toEqual(['ip rule del pref 0']);
  });
});

describe('4. l3mdev_accept', () => {
  it('udp_l3mdev_accept=1: WARN naming who listens with no device, fix now and after reboot', () => {
    const f = { ...healthy(), sysctls: { tcpL3mdevAccept: known(0), udpL3mdevAccept: known(1) } };
    const [w] = check(f, 'mgmt', 'l3mdev-accept');
    expect(w!.level).toBe('WARN');
    expect(w!.message).toContain('a resolver with no device (here: node on 127.0.0.1) also gets queries sent to 127.0.0.1:53 inside mgmt');
    expect(w!.fix).toEqual(['sysctl -w net.ipv4.udp_l3mdev_accept=0', "echo 'net.ipv4.udp_l3mdev_accept = 0' >> /etc/sysctl.d/60-vrf-resolver.conf   # after a reboot too; a later file setting 1 wins"]);
    expect(levels(check(f, null, 'l3mdev-accept'))).toEqual(['WARN']);
  });
});

describe('5. /etc/resolv.conf', () => {
  const rc = (nameservers: string[], options: string[] = [], symlinkTarget: string | null = null, search: string[] = []): HostFacts =>
    ({ ...healthy(), resolvConf: known({ path: '/etc/resolv.conf', symlinkTarget, nameservers, search, options }) });
  const rewrite = ['mv /etc/resolv.conf /etc/resolv.conf.before-vrf-resolver   # keeps the old file (or resolved\'s symlink)', "printf 'nameserver 127.0.0.1\\nnameserver ::1\\n' > /etc/resolv.conf"];
  it('resolved\'s stub: FAIL in a VRF, PASS in the default VRF', () => {
    const f = rc(['127.0.0.53'], ['edns0'], '../run/systemd/resolve/stub-resolv.conf', ['corp.example']);
    const [x] = check(f, 'mgmt', 'resolv-conf');
    expect(x).toEqual({ level: 'FAIL', check: 'resolv-conf', vrf: 'mgmt',
      message: '/etc/resolv.conf (a symlink to ../run/systemd/resolve/stub-resolv.conf, which systemd-resolved writes) names 127.0.0.53: systemd-resolved\'s stub listens on lo in the default VRF, unreachable from mgmt',
      fix: [rewrite[0], "printf 'search corp.example\\nnameserver 127.0.0.1\\nnameserver ::1\\n' > /etc/resolv.conf"] });
    expect(levels(check(f, null, 'resolv-conf'))).toEqual(['PASS']);
  });
  it('straight at the servers: WARN; rotate with a remote one, timeout:0: WARN; a remote fallback alone passes', () => {
    expect(check(rc(['192.0.2.53']), 'mgmt', 'resolv-conf').map((f) => [f.level, f.fix])).toEqual([['WARN', rewrite]]);
    expect(levels(check(rc(['127.0.0.1', '192.0.2.53'], ['rotate']), 'mgmt', 'resolv-conf'))).toEqual(['WARN']);
    expect(levels(check(rc(['127.0.0.1'], ['timeout:0']), 'mgmt', 'resolv-conf'))).toEqual(['WARN', 'PASS']);
    expect(levels(check(rc(['127.0.0.1', '192.0.2.53'], ['use-vc']), 'mgmt', 'resolv-conf'))).toEqual(['PASS']);
    expect(levels(check({ ...healthy(), resolvConf: unknown('could not read /etc/resolv.conf: EACCES') }, 'mgmt', 'resolv-conf'))).toEqual(['WARN']);
  });
});

describe('6. nsswitch and systemd-resolved', () => {
  const nss = ['files', 'mdns4_minimal', '[NOTFOUND=return]', 'resolve', '[!UNAVAIL=return]', 'dns', 'myhostname'];
  const resolvedOn = (f: HostFacts): HostFacts => ({ ...f, systemd: { ...f.systemd, units: known({ 'systemd-resolved.service': { activeState: 'active', unitFileState: 'enabled' } }) } });
  it('resolve on the hosts line with resolved running: FAIL, and the line without it', () => {
    const f = resolvedOn({ ...healthy(), nsswitchHosts: known(nss) });
    expect(check(f, 'mgmt', 'nsswitch')).toEqual([{ level: 'FAIL', check: 'nsswitch', vrf: 'mgmt',
      message: 'hosts: files mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] dns myhostname: glibc asks systemd-resolved (nss-resolve) first, which asks its servers through the default VRF, not mgmt',
      fix: ["cp /etc/nsswitch.conf /etc/nsswitch.conf.before-vrf-resolver && sed -i 's/^hosts:.*/hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname/' /etc/nsswitch.conf"] }]);
    expect(check(f, 'mgmt', 'systemd-resolved')).toEqual([{ level: 'FAIL', check: 'systemd-resolved', vrf: 'mgmt',
      message: 'systemd-resolved is running and nss-resolve is on the hosts line: it asks through the default VRF, so lookups in mgmt fail',
      fix: ['systemctl disable --now systemd-resolved   # then fix resolv-conf and nsswitch as they say'] }]);
    expect(check(f, null, 'nsswitch')).toEqual([]);
  });
  it('resolve without dns, resolved stopped: WARN, and dns takes its place', () => {
    const [w] = check({ ...healthy(), nsswitchHosts: known(['files', 'resolve', '[!UNAVAIL=return]', 'myhostname']) }, 'mgmt', 'nsswitch');
    expect(w!.level).toBe('WARN');
    expect(w!.fix![0]).toContain("s/^hosts:.*/hosts: files dns myhostname/");
  });
  it('resolved owning resolv.conf: FAIL; not running, or not PID 1: PASS', () => {
    const stub = resolvedOn({ ...healthy(), resolvConf: known({ path: '/etc/resolv.conf', symlinkTarget: '/run/systemd/resolve/stub-resolv.conf', nameservers: ['127.0.0.53'], search: [], options: [] }) });
    expect(check(stub, 'mgmt', 'systemd-resolved')[0]!.message).toBe('systemd-resolved is running and /etc/resolv.conf points at it: it asks through the default VRF, so lookups in mgmt fail');
    expect(levels(check(healthy(), 'mgmt', 'systemd-resolved'))).toEqual(['PASS']);
  });
});

describe('7. the instance', () => {
  it('unit inactive and no instance: FAIL twice with enable --now; started by hand: WARN', () => {
    const units = known({ 'vrf-resolver@mgmt.service': { activeState: 'inactive', unitFileState: 'disabled' } });
    const none = { ...healthy(), systemd: { ...healthy().systemd, units }, instances: known([]) };
    expect(check(none, 'mgmt', 'instance-unit')).toEqual([{ level: 'FAIL', check: 'instance-unit', vrf: 'mgmt', message: 'vrf-resolver@mgmt.service is inactive, disabled',
      fix: ['systemctl enable --now vrf-resolver@mgmt', 'journalctl -u vrf-resolver@mgmt -n 50   # if it does not stay up: why'] }]);
    expect(check(none, 'mgmt', 'instance')).toEqual([{ level: 'FAIL', check: 'instance', vrf: 'mgmt', message: 'no running instance serves mgmt (none answers in /run/vrf-resolver)', fix: ['systemctl enable --now vrf-resolver@mgmt'] }]);
    expect(levels(check({ ...healthy(), systemd: { ...healthy().systemd, units } }, 'mgmt', 'instance-unit'))).toEqual(['WARN']);
    const noSystemd = { ...none, systemd: { pid1: false, units: unknown<never>('systemd is not PID 1 here'), dropIns: known([]) } };
    expect(check(noSystemd, 'mgmt', 'instance-unit')[0]!.message).toBe('vrf-resolver@mgmt.service not checked: systemd is not PID 1 here');
    expect(check(noSystemd, 'mgmt', 'instance')[0]!.fix).toEqual(['vrf-resolver run --vrf mgmt --upstream ADDR   # ADDR: a DNS server reachable from mgmt']);
  });

  it('a listener the kernel shows on another device: FAIL', () => {
    const sockets = [...parseSs(fx('ss-udp-vrf.txt'), 'udp'), { proto: 'udp' as const, address: '127.0.0.1', device: 'eth0', port: 53, process: 'node', pid: 812 }];
    const [f] = check({ ...healthy(), port53: known(sockets) }, 'mgmt', 'instance-listeners');
    expect([f!.level, f!.message, f!.fix]).toEqual(['FAIL', 'instance mgmt has listeners not bound to mgmt: udp 127.0.0.1%eth0:53 (ss)', ['systemctl restart vrf-resolver@mgmt']]);
  });

  it('mgmt re-created under the instance (ss shows its old ifindex): FAIL, restart', () => {
    const sockets = parseSs(fx('ss-udp-vrf.txt').replaceAll('%mgmt', '%if4'), 'udp');
    expect(check({ ...healthy(), port53: known(sockets) }, 'mgmt', 'instance-ifindex')).toEqual([{ level: 'FAIL', check: 'instance-ifindex', vrf: 'mgmt',
      message: 'instance mgmt has sockets bound to a device that no longer exists (if4), while mgmt is ifindex 5: mgmt was re-created; restart vrf-resolver@mgmt',
      fix: ['systemctl restart vrf-resolver@mgmt'] }]);
  });

  it('an upstream backing off: WARN with its last error code', () => {
    const backing = { ...upstream, state: 'backing-off' as const, consecutiveFailures: 4, lastError: { code: 'VR_ERR_UPSTREAM_TIMEOUT', at: '2026-01-01T00:01:00.000Z' } };
    const f = { ...healthy(), instances: known([{ instance: 'mgmt', socket: '/run/vrf-resolver/mgmt.sock', running: true, status: known(status('mgmt', { upstreams: [backing] })) }]) };
    expect(check(f, 'mgmt', 'upstreams')).toEqual([{ level: 'WARN', check: 'upstreams', vrf: 'mgmt',
      message: '192.0.2.53:53 is backing off after 4 failures in a row, last VR_ERR_UPSTREAM_TIMEOUT at 2026-01-01T00:01:00.000Z: the others are asked first',
      fix: ['ip vrf exec mgmt dig @192.0.2.53 -p 53 . NS   # does it answer from mgmt?', 'vrf-resolver statistics mgmt   # failures by code'] }]);
  });
});

describe('8. end to end', () => {
  it('no answer to the probe, no route to the upstream: FAIL each', () => {
    const f = { ...healthy(),
      probes: [{ instance: 'mgmt', to: 'udp 127.0.0.1:53', rcode: unknown<string>('127.0.0.1:53: no reply within 3000 ms') }],
      routes: [{ via: 'mgmt', address: '192.0.2.53', route: unknown<{ dev: string; gateway: string | null }>('Network is unreachable') }] };
    expect(levels(check(f, 'mgmt', 'query'))).toEqual(['FAIL']);
    expect(check(f, 'mgmt', 'upstream-route')).toEqual([{ level: 'FAIL', check: 'upstream-route', vrf: 'mgmt', message: '192.0.2.53 has no route through mgmt: Network is unreachable',
      fix: ['ip route add default via GATEWAY vrf mgmt   # GATEWAY: the router towards 192.0.2.53 on mgmt\'s network'] }]);
  });
});

describe('9. CAP_NET_RAW before Linux 5.7', () => {
  it('kernel 5.4 without the drop-in: FAIL with the cp; with it: PASS', () => {
    const old = { ...healthy(), kernel: { release: known('5.4.0-150-generic'), vrfModule: known('loaded' as const) } };
    expect(check(old, 'mgmt', 'capabilities')[0]!.fix).toEqual([
      'mkdir -p /etc/systemd/system/vrf-resolver@.service.d',
      `cp ${CAP_NET_RAW_DROP_IN} /etc/systemd/system/vrf-resolver@.service.d/`,
      'systemctl daemon-reload && systemctl restart vrf-resolver@mgmt',
    ]);
    expect(CAP_NET_RAW_DROP_IN).toMatch(/\/systemd\/kernel-before-5\.7\.conf$/);
    const fixed = { ...old, systemd: { ...old.systemd, dropIns: known([{ path: '/etc/systemd/system/vrf-resolver@.service.d/kernel-before-5.7.conf', capNetRaw: true }]) } };
    expect(levels(check(fixed, 'mgmt', 'capabilities'))).toEqual(['PASS']);
    expect(check(old, null, 'capabilities')).toEqual([]);
  });
});

describe('10. port 53 held by another process', () => {
  it('a wildcard with no device (owner unknown): FAIL for mgmt and the default VRF; one bound to mgmt: FAIL', () => {
    const f = { ...healthy(), port53: known([...parseSs(fx('ss-udp-vrf.txt'), 'udp'), ...parseSs(fx('ss-tcp-vrf.txt'), 'tcp')]) };
    expect(check(f, 'mgmt', 'port-53')).toEqual([{ level: 'FAIL', check: 'port-53', vrf: 'mgmt',
      message: 'a process ss could not name holds tcp *:53 with no device: binding 127.0.0.1:53 on mgmt conflicts with it (EADDRINUSE)',
      fix: ["sudo ss -Hlnpt 'sport = :53'   # names the process; then stop it (systemctl disable --now UNIT)"] }]);
    expect(levels(check(f, null, 'port-53'))).toEqual(['FAIL']);
    const dnsmasq = { ...healthy(), port53: known([{ proto: 'udp' as const, address: '127.0.0.1', device: 'mgmt', port: 53, process: 'dnsmasq', pid: 977 }]) };
    expect(check(dnsmasq, 'mgmt', 'port-53')[0]!.fix).toEqual(['ps -o unit= -p 977   # the unit that runs dnsmasq; then: systemctl disable --now UNIT']);
    expect(check(dnsmasq, null, 'port-53')[0]!.level).toBe('PASS'); // mgmt's socket is no clash for the default VRF
  });
});

describe('output', () => {
  it('one line per finding, fix lines under WARN and FAIL, and a count', () => {
    const findings: Finding[] = [
      { level: 'PASS', check: 'vrf-device', vrf: 'mgmt', message: 'ok' },
      { level: 'FAIL', check: 'rule-order', vrf: null, message: 'bad', fix: ['a', 'b'] },
    ];
    expect(renderFindings({ findings, summary: summarize(findings, [null, 'mgmt']) })).toBe(
      'PASS [mgmt] vrf-device: ok\nFAIL [default] rule-order: bad\n  fix: a\n  fix: b\n1 PASS, 0 WARN, 1 FAIL (default, mgmt)\n');
  });

  it('names vrf-resolver setup once per VRF whose FAILs it fixes', () => {
    const findings: Finding[] = [
      { level: 'FAIL', check: 'resolv-conf', vrf: 'mgmt', message: 'stub', fix: ['x'] },
      { level: 'FAIL', check: 'nsswitch', vrf: 'mgmt', message: 'resolve', fix: ['y'] },
      { level: 'FAIL', check: 'upstream-route', vrf: 'mgmt', message: 'no route', fix: ['z'] },
      { level: 'WARN', check: 'resolv-conf', vrf: 'blue', message: 'direct', fix: ['w'] },
    ];
    const hints = renderFindings({ findings, summary: summarize(findings, ['mgmt', 'blue']) }).split('\n').filter((l) => l.startsWith('hint:'));
    expect(hints).toEqual(['hint: vrf-resolver setup mgmt makes resolv-conf, nsswitch hold in one step, after reboots too (--dry-run shows how)']);
  });
});
