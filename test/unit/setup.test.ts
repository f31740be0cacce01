// setup/: the seed's host (resolved's stub symlink, nss-resolve, the default route moved into
// mgmt) set up, set up again, and undone, with real files in a temp directory standing for /etc
// and /var/lib. systemctl and ip are a small recorded host here (the links of
// test/fixtures/host/link-vrf.json; units whose state enable/start/disable change); the real
// systemd, resolved and VRF are in the VM lab's seed scenario (test/vrf/guest/scenario-5-seed.sh).
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/doctor/run.js';
import type { RunResult } from '../../src/host/io.js';
import { hostsWithoutResolve, nsswitchEdit, replaceLine } from '../../src/setup/files.js';
import { realSetupIo, type SetupIo } from '../../src/setup/io.js';
import type { SetupPaths } from '../../src/setup/read.js';
import { renderEnd, renderStep, setup, setupSucceeded, type SetupReport, type SetupRun } from '../../src/setup/run.js';
import { parseState } from '../../src/setup/state.js';

const LINKS = readFileSync(join(__dirname, '..', 'fixtures', 'host', 'link-vrf.json'), 'utf8');
const STUB_TARGET = '../run/systemd/resolve/stub-resolv.conf';
const NSSWITCH = [
  '# /etc/nsswitch.conf',
  '',
  'passwd:         files systemd',
  'hosts:          files resolve [!UNAVAIL=return] dns myhostname',
  'networks:       files',
  '',
].join('\n');

interface Unit { load: string; active: string; file: string }

/** systemctl show/enable/disable/start/stop/restart and ip link/route against an in-memory host. */
class RecordedHost {
  readonly calls: string[] = [];
  readonly units: Record<string, Unit> = {
    'vrf-resolver@mgmt.service': { load: 'loaded', active: 'inactive', file: 'disabled' },
    'vrf-resolver@default.service': { load: 'loaded', active: 'inactive', file: 'disabled' },
    'systemd-resolved.service': { load: 'loaded', active: 'active', file: 'enabled' },
    'systemd-resolved-varlink.socket': { load: 'not-found', active: 'inactive', file: '' },
    'systemd-resolved-monitor.socket': { load: 'not-found', active: 'inactive', file: '' },
  };
  /** Addresses the default VRF has a route to. */
  routed = new Set<string>();
  failOn: string | null = null;

  run(cmd: string, args: readonly string[]): RunResult {
    const line = `${cmd} ${args.join(' ')}`;
    if (cmd === 'ip' && args.join(' ') === '-j -d link show') return { code: 0, stdout: LINKS, stderr: '' };
    if (cmd === 'ip' && args[1] === 'route') return this.routed.has(args[3]!) ? { code: 0, stdout: '[{"dev":"eth1"}]', stderr: '' } : { code: 2, stdout: '', stderr: 'RTNETLINK answers: Network is unreachable' };
    if (cmd !== 'systemctl') return { code: null, stdout: '', stderr: '', error: 'ENOENT' };
    if (args[0] === 'show') {
      const names = args.slice(3);
      return { code: 0, stdout: names.map((n) => this.show(n)).join('\n\n'), stderr: '' };
    }
    this.calls.push(line);
    if (this.failOn !== null && line.includes(this.failOn)) return { code: 1, stdout: '', stderr: `Job for ${args[args.length - 1]!} failed because the control process exited with error code.` };
    const now = args.includes('--now');
    for (const n of args.slice(1).filter((a) => !a.startsWith('--'))) {
      const u = this.units[n]!;
      if (args[0] === 'enable') u.file = 'enabled';
      if (args[0] === 'disable') u.file = 'disabled';
      if (args[0] === 'start' || args[0] === 'restart' || (args[0] === 'enable' && now)) u.active = 'active';
      if (args[0] === 'stop' || (args[0] === 'disable' && now)) u.active = 'inactive';
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  private show(n: string): string {
    const u = this.units[n] ?? { load: 'not-found', active: 'inactive', file: '' };
    return `Id=${n}\nLoadState=${u.load}\nActiveState=${u.active}\nUnitFileState=${u.file}`;
  }
}

let root: string;
let paths: SetupPaths;
let host: RecordedHost;
let io: SetupIo;

const NO_FAIL: DoctorReport = { findings: [], summary: { vrfs: ['mgmt', null], pass: 20, warn: 0, fail: 0 } };

function run(extra: Partial<SetupRun> = {}): Promise<SetupReport> {
  return setup({ vrf: 'mgmt', undo: false, dryRun: false, keepResolved: false, paths, io, waitAnswering: async () => 'udp 127.0.0.1:53: NOERROR', doctor: async () => NO_FAIL, ...extra });
}
const read = (p: string): string => readFileSync(p, 'utf8');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vr-setup-'));
  for (const d of ['etc', 'run/systemd/resolve', 'var/lib']) mkdirSync(join(root, d), { recursive: true });
  paths = {
    configDir: join(root, 'etc/vrf-resolver'),
    controlDir: join(root, 'run/vrf-resolver'),
    resolvConf: join(root, 'etc/resolv.conf'),
    nsswitch: join(root, 'etc/nsswitch.conf'),
    resolvedServers: join(root, 'run/systemd/resolve/resolv.conf'),
    resolvedDropIn: join(root, 'etc/systemd/resolved.conf.d/vrf-resolver.conf'),
    stateFile: join(root, 'var/lib/vrf-resolver/setup/state.json'),
  };
  // The seed's host: resolved's stub symlink, its list of servers, nss-resolve on the hosts line.
  writeFileSync(join(root, 'run/systemd/resolve/stub-resolv.conf'), 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lab.test\n');
  writeFileSync(paths.resolvedServers, '# uplink mode\nnameserver 10.53.0.2\nsearch lab.test\n');
  symlinkSync(STUB_TARGET, paths.resolvConf);
  writeFileSync(paths.nsswitch, NSSWITCH, { mode: 0o644 });
  host = new RecordedHost();
  io = { ...realSetupIo, uid: () => 0, exists: async (p) => p === '/run/systemd/system' || realSetupIo.exists(p), run: async (c, a) => host.run(c, a) };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('setup on the seed host', () => {
  it('--dry-run lists every step with its commands and changes nothing', async () => {
    const r = await run({ dryRun: true });
    expect(r.steps.map((s) => `${s.status} ${s.id}`)).toEqual([
      'would config', 'would default-config', 'would unit', 'would default-unit', 'would resolv-conf', 'would resolved', 'would nsswitch',
    ]);
    expect(r.steps.find((s) => s.id === 'resolved')!.commands).toEqual(['systemctl disable --now systemd-resolved.service']);
    expect(host.calls).toEqual([]);
    expect(readlinkSync(paths.resolvConf)).toBe(STUB_TARGET);
    expect(existsSync(paths.configDir) || existsSync(paths.stateFile)).toBe(false);
    expect(renderEnd(r)).toMatch(/setup mgmt: 7 changes to make \(dry run: nothing was changed\)\n$/);
    expect(renderStep(r.steps[0]!, true)).toContain(`        $ write ${paths.configDir}/mgmt.conf (mode 0644)`);
  });

  it('sets the host up in order, saves what it replaced, and a second run changes nothing', async () => {
    const r = await run();
    expect(setupSucceeded(r)).toBe(true);
    expect(r.upstreams).toEqual({ servers: ['10.53.0.2'], source: paths.resolvedServers });
    // Units answer before resolv.conf points at them; resolved goes last but for the hosts line.
    expect(host.calls).toEqual([
      'systemctl enable vrf-resolver@mgmt.service', 'systemctl start vrf-resolver@mgmt.service',
      'systemctl enable vrf-resolver@default.service', 'systemctl start vrf-resolver@default.service',
      'systemctl disable --now systemd-resolved.service',
    ]);
    expect(read(`${paths.configDir}/mgmt.conf`)).toMatch(/^\[Resolve\]\nDNS=10\.53\.0\.2\n$/m);
    // The default VRF has no route to 10.53.0.2 (the seed moved it into mgmt): ask through mgmt.
    expect(read(`${paths.configDir}/default.conf`)).toMatch(/\nDNS=10\.53\.0\.2\n#[^\n]*no route in the default VRF[^\n]*\nUpstreamDevice=mgmt\n$/);
    expect(lstatSync(paths.resolvConf).isSymbolicLink()).toBe(false);
    expect(read(paths.resolvConf)).toMatch(/\nsearch lab\.test\nnameserver 127\.0\.0\.1\nnameserver ::1\n$/);
    expect(statSync(paths.resolvConf).mode & 0o777).toBe(0o644);
    expect(read(paths.nsswitch)).toBe(NSSWITCH.replace('files resolve [!UNAVAIL=return] dns myhostname', 'files dns myhostname'));
    const st = parseState(read(paths.stateFile), paths.stateFile);
    expect(st).toMatchObject({
      vrfs: ['mgmt'], enabled: ['vrf-resolver@mgmt.service', 'vrf-resolver@default.service'],
      resolvConf: { saved: { kind: 'symlink', target: STUB_TARGET } },
      nsswitch: { before: 'hosts:          files resolve [!UNAVAIL=return] dns myhostname', after: 'hosts:          files dns myhostname' },
      resolved: { mode: 'disabled', wasEnabled: ['systemd-resolved.service'], wasActive: ['systemd-resolved.service'] },
    });
    expect(r.steps.find((s) => s.id === 'unit')!.detail).toBe('vrf-resolver@mgmt answers (udp 127.0.0.1:53: NOERROR)');

    const files = [paths.resolvConf, paths.nsswitch, paths.stateFile, `${paths.configDir}/mgmt.conf`, `${paths.configDir}/default.conf`];
    const before = files.map((f) => `${read(f)}@${statSync(f).mtimeMs}`);
    host.calls.length = 0;
    const again = await run();
    expect(again.steps.every((s) => s.status === 'unchanged')).toBe(true);
    expect(again.changed).toBe(0);
    expect(host.calls).toEqual([]);
    expect(files.map((f) => `${read(f)}@${statSync(f).mtimeMs}`)).toEqual(before);
    expect(renderEnd(again)).toMatch(/setup mgmt: nothing to change; doctor: no FAIL\n$/);
  });

  it('--undo restores resolv.conf, the hosts line byte for byte and resolved, and disables the units', async () => {
    await run();
    host.calls.length = 0;
    const u = await run({ undo: true });
    expect(u.failed).toBe(false);
    expect(u.doctor).toBeNull();
    expect(host.calls).toEqual([
      'systemctl disable --now vrf-resolver@mgmt.service',
      'systemctl enable systemd-resolved.service', 'systemctl start systemd-resolved.service',
      'systemctl disable --now vrf-resolver@default.service',
    ]);
    expect(readlinkSync(paths.resolvConf)).toBe(STUB_TARGET);
    expect(read(paths.nsswitch)).toBe(NSSWITCH);
    expect(existsSync(`${paths.configDir}/mgmt.conf`) || existsSync(`${paths.configDir}/default.conf`) || existsSync(paths.stateFile)).toBe(false);
    // Undone twice: nothing recorded, nothing to do.
    host.calls.length = 0;
    const twice = await run({ undo: true });
    expect(twice.steps.map((s) => s.status)).toEqual(['unchanged']);
    expect(host.calls).toEqual([]);
  });

  it('a failed start stops before resolv.conf is touched, says where it stopped, and --undo takes back the rest', async () => {
    host.failOn = 'start vrf-resolver@default';
    const r = await run();
    expect(setupSucceeded(r)).toBe(false);
    expect(r.steps.map((s) => `${s.status} ${s.id}`)).toEqual([
      'changed config', 'changed default-config', 'changed unit', 'failed default-unit', 'not-run resolv-conf', 'not-run resolved', 'not-run nsswitch',
    ]);
    expect(r.steps[3]!.detail).toMatch(/systemctl start vrf-resolver@default.service failed \(exit 1\).*journalctl -b -u vrf-resolver@default.service/);
    expect(readlinkSync(paths.resolvConf)).toBe(STUB_TARGET);
    expect(renderEnd(r)).toMatch(/stopped at the failed step\. Done before it: config, default-config, unit;[\s\S]*--undo\nsetup mgmt: FAILED\n$/);
    // Enabled before the start failed: recorded, so --undo disables it.
    expect(parseState(read(paths.stateFile), paths.stateFile).enabled).toEqual(['vrf-resolver@mgmt.service', 'vrf-resolver@default.service']);
    host.failOn = null;
    host.calls.length = 0;
    await run({ undo: true });
    expect(host.calls).toEqual(['systemctl disable --now vrf-resolver@mgmt.service', 'systemctl disable --now vrf-resolver@default.service']);
    expect(existsSync(paths.stateFile)).toBe(false);
  });

  it('keeps an existing configuration and says when --upstream differs; --keep-resolved turns the stub off instead', async () => {
    mkdirSync(paths.configDir);
    writeFileSync(`${paths.configDir}/mgmt.conf`, '[Resolve]\nDNS=192.0.2.53\n');
    host.routed.add('198.51.100.53');
    const r = await run({ upstreams: ['198.51.100.53'], keepResolved: true });
    expect(r.steps[0]!.title).toMatch(/mgmt\.conf is there: kept; it names 192\.0\.2\.53, not the --upstream servers 198\.51\.100\.53: edit it/);
    expect(read(`${paths.configDir}/default.conf`)).not.toContain('UpstreamDevice'); // routed in the default VRF
    expect(read(paths.resolvedDropIn)).toContain('DNSStubListener=no');
    expect(host.calls).toContain('systemctl try-restart systemd-resolved.service');
    expect(host.units['systemd-resolved.service']!.file).toBe('enabled');
    host.calls.length = 0;
    await run({ undo: true });
    expect(existsSync(paths.resolvedDropIn)).toBe(false);
    expect(existsSync(`${paths.configDir}/mgmt.conf`)).toBe(true); // not setup's
    expect(host.calls).toContain('systemctl try-restart systemd-resolved.service');
  });

  it('finds every problem before changing anything', async () => {
    host.units['vrf-resolver@mgmt.service']!.load = 'not-found';
    writeFileSync(paths.resolvedServers, 'nameserver 127.0.0.53\n');
    const notRoot = { ...io, uid: () => 1000 };
    const r = await setup({ vrf: 'blue', undo: false, dryRun: false, keepResolved: false, paths, io: notRoot });
    expect(r.problems).toEqual([
      'setup changes /etc and systemd units: run it as root (sudo vrf-resolver setup blue), or look first with --dry-run',
      'the VRF blue is down: ip link set blue up (and make your network configuration bring it up at boot)',
      'vrf-resolver@blue.service is not installed: install vrf-resolver first (sudo systemd/install.sh install in the checkout)',
      expect.stringMatching(/^no upstream DNS server found: .*vrf-resolver setup blue --upstream ADDR/),
    ]);
    expect(host.calls).toEqual([]);
    expect(renderEnd(r)).toMatch(/setup blue: nothing was changed \(4 problems above\)\n$/);
    const eth = await run({ vrf: 'eth0', upstreams: ['192.0.2.53'] });
    expect(eth.problems[0]).toBe('eth0 is a plain device, not a VRF: name the VRF device (ip -br link show type vrf lists them)');
  });

  it('refuses a state file it did not write', async () => {
    mkdirSync(join(root, 'var/lib/vrf-resolver/setup'), { recursive: true });
    writeFileSync(paths.stateFile, '{"version": 2}');
    const r = await run();
    expect(r.problems).toEqual([expect.stringMatching(/state\.json: version is not 1; it was not written by this vrf-resolver/)]);
  });
});

describe('the edits', () => {
  it('takes resolve and its actions off the hosts line, keeping dns or putting it where resolve stood', () => {
    expect(hostsWithoutResolve(['files', 'resolve', '[!UNAVAIL=return]', 'dns', 'myhostname'])).toEqual(['files', 'dns', 'myhostname']);
    expect(hostsWithoutResolve(['files', 'mdns4_minimal', '[NOTFOUND=return]', 'resolve', '[!UNAVAIL=return]', 'myhostname'])).toEqual(['files', 'mdns4_minimal', '[NOTFOUND=return]', 'dns', 'myhostname']);
    expect(hostsWithoutResolve(['files', 'dns'])).toBeNull();
    expect(nsswitchEdit('hosts: files resolve dns # glibc\n')).toEqual({ before: 'hosts: files resolve dns # glibc', after: 'hosts: files dns # glibc' });
    expect(nsswitchEdit('passwd: files\n')).toBeNull();
    expect(replaceLine('a\nb\n', 'b', 'c')).toBe('a\nc\n');
    expect(replaceLine('a\nb\n', 'x', 'c')).toBeNull();
  });
});
