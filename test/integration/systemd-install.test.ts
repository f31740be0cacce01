// systemd/install.sh into a scratch root (DESTDIR: no systemctl, nothing on the host): the copy
// runs, the units and the socket drop-in land where systemd looks, uninstall removes all of it
// (the runtime directory a stopped instance leaves too) but the configuration, and --purge that too.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.js';
import { REPO_ROOT } from '../helpers/process.js';

const root = mkdtempSync(join(tmpdir(), 'vrf-resolver-install-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const script = join(REPO_ROOT, 'systemd', 'install.sh');
const sh = (...args: string[]) => run('/bin/sh', [script, ...args], { env: { DESTDIR: root }, timeoutMs: 120_000 });
const at = (p: string) => join(root, p);
const isLink = (p: string) => {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

describe('install.sh with DESTDIR', () => {
  it('install: the program, a relative bin link, the four units, the config directory', async () => {
    const r = await sh('install');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readlinkSync(at('usr/local/bin/vrf-resolver'))).toBe('../lib/vrf-resolver/dist/main.js');
    for (const u of ['vrf-resolver@.service', 'vrf-resolver@default.service', 'vrf-resolver@.socket', 'vrf-resolver@default.socket']) {
      expect(readFileSync(at(`etc/systemd/system/${u}`), 'utf8')).toBe(readFileSync(join(REPO_ROOT, 'systemd', u), 'utf8'));
    }
    expect(lstatSync(at('etc/vrf-resolver')).isDirectory()).toBe(true);
    expect(existsSync(at('usr/local/lib/vrf-resolver/build/native/Release/vrf_socket.node'))).toBe(true);
    expect(existsSync(at('usr/local/lib/vrf-resolver/node_modules/pino'))).toBe(true);
    expect(existsSync(at('usr/local/lib/vrf-resolver/node_modules/vitest'))).toBe(false); // runtime deps only
  });

  it('the installed command runs from its own copy', async () => {
    const v = await run(at('usr/local/bin/vrf-resolver'), ['--version']);
    expect(v.stdout).toMatch(/^vrf-resolver \d+\.\d+\.\d+/);
    const c = await run(at('usr/local/bin/vrf-resolver'), ['check-config', '--instance', 'vrtestnone', '--upstream', '192.0.2.1']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^\/etc\/vrf-resolver\/vrtestnone\.conf \(absent, optional\): OK/);
  });

  it('socket NAME: the BindToDevice= drop-in', async () => {
    expect((await sh('socket', 'mgmt')).code).toBe(0);
    expect(readFileSync(at('etc/systemd/system/vrf-resolver@mgmt.socket.d/device.conf'), 'utf8')).toMatch(/^\[Socket\]\nBindToDevice=mgmt$/m);
  });

  it('uninstall removes everything but the configuration; --purge removes that too', async () => {
    writeFileSync(at('etc/vrf-resolver/mgmt.conf'), '[Resolve]\nDNS=192.0.2.1\n');
    // What a stopped instance leaves (RuntimeDirectoryPreserve=yes): its control socket's directory.
    mkdirSync(at('run/private/vrf-resolver'), { recursive: true });
    writeFileSync(at('run/private/vrf-resolver/mgmt.sock'), '');
    symlinkSync('private/vrf-resolver', at('run/vrf-resolver'));
    expect((await sh('uninstall')).code).toBe(0);
    for (const p of ['usr/local/bin/vrf-resolver', 'usr/local/lib/vrf-resolver', 'etc/systemd/system/vrf-resolver@.service',
      'etc/systemd/system/vrf-resolver@default.socket', 'etc/systemd/system/vrf-resolver@mgmt.socket.d',
      'run/vrf-resolver', 'run/private/vrf-resolver']) {
      expect(existsSync(at(p)) || isLink(at(p)), p).toBe(false); // a dangling link counts too
    }
    expect(existsSync(at('etc/vrf-resolver/mgmt.conf'))).toBe(true);
    expect((await sh('uninstall', '--purge')).code).toBe(0);
    expect(existsSync(at('etc/vrf-resolver'))).toBe(false);
  });

  it('an unknown command is a usage error', async () => {
    const r = await sh('frobnicate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/usage: .* install \| socket NAME \| uninstall/);
  });
});
