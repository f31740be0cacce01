// host/: recorded outputs of ip -j, ss, systemctl show and the files glibc reads, turned into
// HostFacts; and a host where nothing can be read (no tools, EACCES) giving "unknown" facts, not
// exceptions. Fixtures: test/fixtures/host/README.md says which were captured and which written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostIo, RunResult } from '../../src/host/io.js';
import { parseLinks, parseNsswitchHosts, parseResolvConf, parseRules, parseSs, parseSystemctlShow } from '../../src/host/parse.js';
import { readHost, serverAddress } from '../../src/host/read.js';
import type { StatusReport } from '../../src/control/types.js';

const fx = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'host', name), 'utf8');
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

/** A host replayed from recorded command outputs and files; anything not recorded is ENOENT. */
function recordedIo(commands: Record<string, string | RunResult>, files: Record<string, string>, links: Record<string, string> = {}, paths: string[] = []): HostIo & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    async run(cmd, args) {
      const key = [cmd, ...args].join(' ');
      ran.push(key);
      const r = commands[key];
      if (r === undefined) return { code: 1, stdout: '', stderr: `${key}: not recorded` };
      return typeof r === 'string' ? { code: 0, stdout: r, stderr: '' } : r;
    },
    async readFile(path) {
      const f = files[path];
      if (f === undefined) throw errno('ENOENT');
      return f;
    },
    async readLink(path) {
      if (path in links) return links[path]!;
      if (path in files) return null;
      throw errno('ENOENT');
    },
    async readDir(path) {
      throw errno(path === '/run/vrf-resolver-test' ? 'EACCES' : 'ENOENT');
    },
    async exists(path) {
      return paths.includes(path);
    },
  };
}

describe('host/parse: iproute2 JSON, ss columns, systemctl Key=Value', () => {
  it('links: kind, admin state, master and a VRF\'s table from ip -j -d link show', () => {
    expect(parseLinks(fx('link-vrf.json'))).toEqual([
      { ifindex: 1, name: 'lo', kind: null, up: true, master: null, vrfTable: null },
      { ifindex: 2, name: 'eth0', kind: null, up: true, master: 'mgmt', vrfTable: null },
      { ifindex: 3, name: 'eth1', kind: null, up: true, master: null, vrfTable: null },
      { ifindex: 5, name: 'mgmt', kind: 'vrf', up: true, master: null, vrfTable: 1000 },
      { ifindex: 6, name: 'blue', kind: 'vrf', up: false, master: null, vrfTable: 1001 },
    ]);
    expect(parseLinks(fx('link-veth.json')).map((l) => [l.name, l.kind])).toEqual([['lo', null], ['eth1', 'veth'], ['eth0', 'veth']]);
  });

  it('rules, captured: the kernel\'s local rule at 0 before l3mdev, then after the fix', () => {
    expect(parseRules(fx('rule4-local-first.json'))).toEqual([
      { priority: 0, table: 'local', l3mdev: false, matchesAll: true },
      { priority: 1000, table: null, l3mdev: true, matchesAll: true },
      { priority: 32766, table: 'main', l3mdev: false, matchesAll: true },
      { priority: 32767, table: 'default', l3mdev: false, matchesAll: true },
    ]);
    expect(parseRules(fx('rule6-fixed.json')).map((r) => [r.priority, r.table, r.l3mdev])).toEqual([[1000, null, true], [32765, 'local', false], [32766, 'main', false]]);
    // A rule with a selector is not "every packet": it cannot put local before l3mdev for all.
    expect(parseRules('[{"priority":5,"src":"10.0.0.0","srclen":8,"table":"local"},{"priority":6,"src":"all","iif":"eth0","table":"local"}]').map((r) => r.matchesAll)).toEqual([false, false]);
  });

  it('ss: device-bound, wildcard and bracketed addresses, and the owning process', () => {
    expect(parseSs(fx('ss-udp-others.txt'), 'udp')).toEqual([
      { proto: 'udp', address: '127.0.0.1', device: 'eth0', port: 53, process: 'python3', pid: 4586 },
      { proto: 'udp', address: '::', device: 'eth0', port: 53, process: 'python3', pid: 4586 },
    ]);
    expect(parseSs(fx('ss-tcp-instance.txt'), 'tcp')).toEqual([
      { proto: 'tcp', address: '127.0.0.1', device: null, port: 53, process: 'node', pid: 4230 },
      { proto: 'tcp', address: '::1', device: null, port: 53, process: 'node', pid: 4230 },
    ]);
    const vrf = parseSs(fx('ss-tcp-vrf.txt'), 'tcp');
    expect(vrf[1]).toEqual({ proto: 'tcp', address: '::1', device: 'mgmt', port: 53, process: 'node', pid: 812 });
    expect(vrf[4]).toEqual({ proto: 'tcp', address: '*', device: null, port: 53, process: null, pid: null }); // not root: no process
  });

  it('systemctl show: one block per unit, by Id', () => {
    expect(parseSystemctlShow(fx('systemctl-show.txt'))).toEqual({
      'vrf-resolver@default.service': { activeState: 'active', unitFileState: 'enabled' },
      'vrf-resolver@mgmt.service': { activeState: 'inactive', unitFileState: 'disabled' },
      'systemd-resolved.service': { activeState: 'active', unitFileState: 'enabled' },
    });
  });

  it('resolv.conf and nsswitch.conf as glibc reads them (comments, last search wins, [ACTION] words)', () => {
    const r = parseResolvConf('# generated\nsearch a.test\nnameserver 127.0.0.53 ; stub\nsearch b.test c.test\noptions edns0 trust-ad\noptions rotate\n', '/etc/resolv.conf', '../run/systemd/resolve/stub-resolv.conf');
    expect(r).toEqual({ path: '/etc/resolv.conf', symlinkTarget: '../run/systemd/resolve/stub-resolv.conf', nameservers: ['127.0.0.53'], search: ['b.test', 'c.test'], options: ['edns0', 'trust-ad', 'rotate'] });
    expect(parseNsswitchHosts('passwd: files\nhosts:   files mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] dns  # x\n'))
      .toEqual(['files', 'mdns4_minimal', '[NOTFOUND=return]', 'resolve', '[!UNAVAIL=return]', 'dns']);
    expect(parseNsswitchHosts('passwd: files\n')).toBeNull();
  });

  it('server labels to addresses', () => {
    expect(serverAddress('192.0.2.53:53')).toBe('192.0.2.53');
    expect(serverAddress('[2001:db8::53]:5353')).toBe('2001:db8::53');
  });
});

const status = (vrf: string | null, extra: Partial<StatusReport> = {}): StatusReport => ({
  instance: vrf ?? 'default', version: '0.1.0', pid: vrf === null ? 640 : 812, startedAt: '2026-01-01T00:00:00.000Z', uptimeSec: 5,
  vrf: { name: vrf, ifindex: vrf === null ? null : 5 }, upstreamDevice: vrf, listeners: [`udp 127.0.0.1:53${vrf === null ? '' : ` on ${vrf}`}`],
  configFiles: [], controlSocket: `/run/vrf-resolver/${vrf ?? 'default'}.sock`, metrics: null, logLevel: 'info',
  upstreams: [{ server: '192.0.2.53:53', state: 'healthy', backoffUntil: null, consecutiveFailures: 0, queries: 3, failures: 0, failuresByCode: {}, timeouts: 0, tcpFallbacks: 0, rttMs: 4, lastError: null }],
  cache: { enabled: true, entries: 0, bytes: 0, maxEntries: 10000, maxBytes: 67108864, evictions: 0 }, inflight: 0, ...extra,
});

describe('host/read: a recorded VRF host', () => {
  it('reads every fact, asks systemd about the chosen VRFs only, and routes upstreams through the VRF', async () => {
    const io = recordedIo({
      'ip -j -d link show': fx('link-vrf.json'),
      'ip -j addr show': fx('addr-vrf.json'),
      'ip -j rule show': fx('rule4-fixed.json'),
      'ip -j -6 rule show': fx('rule6-fixed.json'),
      'modinfo vrf': 'filename: /lib/modules/6.1.0-18-amd64/kernel/drivers/net/vrf.ko\n',
      'systemctl show -p Id,ActiveState,UnitFileState vrf-resolver@mgmt.service systemd-resolved.service': fx('systemctl-show.txt'),
      'ss -Hlnpu sport = :53': fx('ss-udp-vrf.txt'),
      'ss -Hlntp sport = :53': fx('ss-tcp-vrf.txt'),
      'ip -j route get vrf mgmt 192.0.2.53': fx('route-get-vrf.json'),
    }, {
      '/proc/sys/kernel/osrelease': '6.1.0-18-amd64\n',
      '/proc/sys/net/ipv4/tcp_l3mdev_accept': '1\n',
      '/proc/sys/net/ipv4/udp_l3mdev_accept': '0\n',
      '/etc/resolv.conf': 'nameserver 127.0.0.1\nnameserver ::1\n',
      '/etc/nsswitch.conf': 'hosts: files dns\n',
    }, {}, ['/run/systemd/system']);
    const probed: string[] = [];
    const { facts, vrfs } = await readHost({
      controlDir: '/run/vrf-resolver',
      select: () => ['mgmt'],
      io,
      instances: async () => ({ ok: true, value: [
        { instance: 'mgmt', socket: '/run/vrf-resolver/mgmt.sock', running: true, status: { ok: true, value: status('mgmt') } },
        { instance: 'default', socket: '/run/vrf-resolver/default.sock', running: true, status: { ok: true, value: status(null) } },
      ] }),
      probe: async (s) => {
        probed.push(s.instance);
        return { instance: s.instance, to: 'udp 127.0.0.1:53', rcode: { ok: true, value: 'NOERROR' } };
      },
    });
    expect(vrfs).toEqual(['mgmt']);
    expect(facts.kernel).toEqual({ release: { ok: true, value: '6.1.0-18-amd64' }, vrfModule: { ok: true, value: 'loadable' } });
    expect(facts.sysctls).toEqual({ tcpL3mdevAccept: { ok: true, value: 1 }, udpL3mdevAccept: { ok: true, value: 0 } });
    expect(facts.resolvConf).toEqual({ ok: true, value: { path: '/etc/resolv.conf', symlinkTarget: null, nameservers: ['127.0.0.1', '::1'], search: [], options: [] } });
    expect(facts.systemd.pid1).toBe(true);
    expect(facts.systemd.dropIns).toEqual({ ok: true, value: [] });
    expect(facts.port53.ok && facts.port53.value.length).toBe(9);
    // The default VRF's instance was not asked about: no route lookup, no query sent to it.
    expect(facts.routes).toEqual([{ via: 'mgmt', address: '192.0.2.53', route: { ok: true, value: { dev: 'eth0', gateway: '192.0.2.1' } } }]);
    expect(probed).toEqual(['mgmt']);
    expect(io.ran.filter((c) => c.startsWith('ip -j route'))).toEqual(['ip -j route get vrf mgmt 192.0.2.53']);
  });

  it('looks a server up once per device when two instances ask it through the same device', async () => {
    // The seed's host: the default VRF's instance asks 192.0.2.53 through mgmt (UpstreamDevice=mgmt),
    // as mgmt's own instance does; doctor printed the same upstream-route line twice.
    const io = recordedIo({
      'ip -j -d link show': fx('link-vrf.json'), 'ip -j addr show': fx('addr-vrf.json'),
      'ip -j rule show': fx('rule4-fixed.json'), 'ip -j -6 rule show': fx('rule6-fixed.json'),
      'ss -Hlnpu sport = :53': '', 'ss -Hlntp sport = :53': '',
      'ip -j route get vrf mgmt 192.0.2.53': fx('route-get-vrf.json'),
    }, { '/proc/sys/kernel/osrelease': '6.1.0-18-amd64\n' });
    const { facts } = await readHost({
      controlDir: '/run/vrf-resolver', select: () => ['mgmt', null], io, probe: null,
      instances: async () => ({ ok: true, value: [
        { instance: 'mgmt', socket: '/run/vrf-resolver/mgmt.sock', running: true, status: { ok: true, value: status('mgmt') } },
        { instance: 'default', socket: '/run/vrf-resolver/default.sock', running: true, status: { ok: true, value: status(null, { upstreamDevice: 'mgmt' }) } },
      ] }),
    });
    expect(facts.routes).toEqual([{ via: 'mgmt', address: '192.0.2.53', route: { ok: true, value: { dev: 'eth0', gateway: '192.0.2.1' } } }]);
  });

  it('a host where nothing can be read: every fact says why, nothing throws', async () => {
    const missing: RunResult = { code: null, stdout: '', stderr: '', error: 'ENOENT' };
    const io = recordedIo({ 'ip -j -d link show': missing, 'ip -j addr show': missing, 'ip -j rule show': missing, 'ip -j -6 rule show': missing, 'modinfo vrf': missing, 'ss -Hlnpu sport = :53': missing }, {});
    io.readFile = async () => {
      throw errno('EACCES');
    };
    const { facts, vrfs } = await readHost({ controlDir: '/run/vrf-resolver-test', select: () => [null], io, probe: null });
    expect(vrfs).toEqual([null]);
    expect(facts.links).toEqual({ ok: false, why: 'could not run ip -j -d link show: ip is not installed' });
    expect(facts.sysctls.udpL3mdevAccept).toEqual({ ok: false, why: 'could not read /proc/sys/net/ipv4/udp_l3mdev_accept: EACCES' });
    expect(facts.kernel.vrfModule).toEqual({ ok: false, why: 'modinfo is not installed and could not read /proc/sys/kernel/osrelease: EACCES' });
    expect(facts.resolvConf).toEqual({ ok: false, why: 'could not read /etc/resolv.conf: ENOENT' });
    expect(facts.systemd).toEqual({ pid1: false, units: { ok: false, why: 'systemd is not PID 1 here' }, dropIns: { ok: true, value: [] } });
    expect(facts.instances).toEqual({ ok: false, why: 'could not read /run/vrf-resolver-test: EACCES' });
    expect(facts.port53).toEqual({ ok: false, why: 'could not run ss -Hlnpu sport = :53: ss is not installed' });
  });

  it('the CAP_NET_RAW drop-in is recognised by its settings, not by a comment', async () => {
    const io = recordedIo({}, {
      '/etc/systemd/system/vrf-resolver@.service.d/10-raw.conf': readFileSync(join(__dirname, '..', '..', 'systemd', 'kernel-before-5.7.conf'), 'utf8'),
      '/etc/systemd/system/vrf-resolver@.service.d/20-note.conf': '# CAP_NET_RAW is granted elsewhere\n[Service]\nAmbientCapabilities=CAP_NET_RAW\n',
    });
    io.readDir = async () => ['20-note.conf', '10-raw.conf', 'README'];
    const { facts } = await readHost({ controlDir: '/nonexistent', select: () => [null], io, probe: null, instances: async () => ({ ok: true, value: [] }) });
    expect(facts.systemd.dropIns).toEqual({ ok: true, value: [
      { path: '/etc/systemd/system/vrf-resolver@.service.d/10-raw.conf', capNetRaw: true },
      { path: '/etc/systemd/system/vrf-resolver@.service.d/20-note.conf', capNetRaw: false },
    ] });
  });
});
