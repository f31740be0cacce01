// The systemd units as systemd itself reads them: `systemd-analyze verify` must pass and
// `systemd-analyze security --offline=yes` must score the services at most 1.5 (resolved: 2.2).
// systemd-analyze comes with the `systemd` package (.ci/run installs it; PID 1 need not be
// systemd). The default-VRF unit must stay the template minus the device dependency.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const UNIT_DIR = join(ROOT, 'systemd');
const SERVICES = ['vrf-resolver@.service', 'vrf-resolver@default.service'];
const UNITS = [...SERVICES, 'vrf-resolver-net@.service', 'vrf-resolver@.socket', 'vrf-resolver@default.socket'];
const MAX_EXPOSURE = 1.5;
/** The privileged companion runs as root with CAP_NET_ADMIN (ip addr add, ip rule add): scored apart. */
const MAX_EXPOSURE_NET = 4.5;

const analyze = findAnalyze();
if (analyze === null) {
  console.warn('\n*** systemd-analyze not found: the systemd unit checks are SKIPPED. apt-get install systemd ***\n');
}

function findAnalyze(): string | null {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'systemd-analyze' : null;
}

const read = (name: string): string => readFileSync(join(UNIT_DIR, name), 'utf8');

/** The units with the installed binary's path pointed at this checkout's build, in a temp dir. */
const work = mkdtempSync(join(tmpdir(), 'vrf-resolver-units-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const bin = join(work, 'vrf-resolver');
symlinkSync(join(ROOT, 'dist', 'main.js'), bin);
for (const u of UNITS) writeFileSync(join(work, u), read(u).replaceAll('/usr/local/bin/vrf-resolver', bin));
// verify checks that ExecStart= is executable; dist/main.js is built by the test runner.
try {
  chmodSync(join(ROOT, 'dist', 'main.js'), 0o755);
} catch {
  /* not built: verify reports it */
}

describe.skipIf(analyze === null)('systemd-analyze', () => {
  it('verify passes for the services and the sockets, with no warning', () => {
    const r = spawnSync(analyze!, ['verify', '--man=no', ...UNITS.map((u) => `./${u}`)], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  for (const [service, max] of [...SERVICES.map((s) => [s, MAX_EXPOSURE] as const), ['vrf-resolver-net@.service', MAX_EXPOSURE_NET] as const]) {
    it(`security --offline=yes: ${service} exposure is at most ${max}`, () => {
      const out = execFileSync(analyze!, ['security', '--offline=yes', '--no-pager', `./${service}`], { cwd: work, encoding: 'utf8', timeout: 60_000 });
      const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(out);
      expect(m, out.slice(-500)).not.toBeNull();
      expect(Number(m![1]), out).toBeLessThanOrEqual(max);
    });
  }
});

describe('unit files', () => {
  // Comments and the parts that must differ removed, the rest must be the same.
  const normalize = (text: string): string[] =>
    text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .filter((l) => !/sys-subsystem-net-devices-%i\.device|vrf-resolver-net@%i/.test(l) && !l.startsWith('WantedBy='));

  it('vrf-resolver@default.service is the template without the device and its companion', () => {
    const template = read('vrf-resolver@.service');
    const dflt = read('vrf-resolver@default.service');
    // Ordered after the device, never bound to it: the instance follows the device itself (issue 12).
    expect(template).not.toMatch(/^BindsTo=/m);
    expect(template).toMatch(/^After=sys-subsystem-net-devices-%i\.device$/m);
    expect(template).toMatch(/^Wants=vrf-resolver-net@%i\.service$/m);
    expect(template).toMatch(/^After=vrf-resolver-net@%i\.service$/m);
    expect(template).toMatch(/^Also=vrf-resolver-net@%i\.service$/m);
    expect(dflt).not.toMatch(/^[^#].*(sys-subsystem-net-devices|vrf-resolver-net@)/m);
    expect(normalize(dflt)).toEqual(normalize(template));
  });

  it('the service is Type=notify, checks its config first, reloads with SIGHUP, and never uses ip vrf exec', () => {
    const t = read('vrf-resolver@.service');
    expect(t).toMatch(/^Type=notify$/m);
    expect(t).toMatch(/^ExecStartPre=\/usr\/local\/bin\/vrf-resolver check-config --instance %i$/m);
    expect(t).not.toMatch(/ensure-loopback/); // vrf-resolver-net@%i does it, before the start and whenever the device appears
    const net = read('vrf-resolver-net@.service');
    expect(net).toMatch(/^ExecStart=\/usr\/local\/bin\/vrf-resolver ensure-loopback --instance %i$/m);
    expect(net).toMatch(/^Type=oneshot$/m);
    expect(net).toMatch(/^WantedBy=sys-subsystem-net-devices-%i\.device$/m);
    expect(net).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN$/m);
    expect(t).toMatch(/^ExecStart=\/usr\/local\/bin\/vrf-resolver run --instance %i$/m);
    expect(t).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(t).toMatch(/^RestartPreventExitStatus=78$/m);
    expect(t).toMatch(/^Wants=nss-lookup\.target$/m);
    expect(t).toMatch(/^Before=nss-lookup\.target$/m);
    expect(t).not.toMatch(/^[^#].*ip vrf exec/m);
  });

  it('keeps only CAP_NET_BIND_SERVICE and says why for every relaxed setting', () => {
    const t = read('vrf-resolver@.service');
    expect(t).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(t).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(t).toMatch(/^SystemCallFilter=@system-service @pkey$/m);
    expect(t).toMatch(/^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK$/m);
    for (const setting of ['MemoryDenyWriteExecute=', 'PrivateNetwork=', 'PrivateUsers=', 'IPAddressDeny=']) {
      expect(t, setting).toMatch(new RegExp(`^# Exception: ${setting}`, 'm'));
    }
    expect(read('kernel-before-5.7.conf')).toMatch(/^AmbientCapabilities=CAP_NET_RAW$/m);
  });

  it('the socket binds UDP and TCP on both loopback addresses, with the device from a drop-in', () => {
    const s = read('vrf-resolver@.socket');
    for (const l of ['ListenDatagram=127.0.0.1:53', 'ListenStream=127.0.0.1:53', 'ListenDatagram=[::1]:53', 'ListenStream=[::1]:53']) {
      expect(s).toContain(`\n${l}\n`);
    }
    expect(s).not.toMatch(/^BindToDevice=/m); // systemd takes no specifier there: the drop-in names the device
    expect(s).toMatch(/^AssertPathExists=\/etc\/systemd\/system\/vrf-resolver@%i\.socket\.d\/device\.conf$/m);
    expect(read('vrf-resolver@default.socket')).not.toMatch(/^(BindToDevice|AssertPathExists)=/m);
  });
});
