// The Debian package as built by `npm run deb` (systemd/deb/build.sh), checked from the outside
// as dpkg and lintian see it; nothing is installed on the host (dpkg-deb -x into a temp dir).
// CI builds the package once and names it in VRF_RESOLVER_DEB (the VM lab installs the same
// file in its guest); without it this file builds one into a temp dir (~30-60 s).
//
// Checked: the control fields (Depends: the Node.js of package.json's engines, iproute2, and
// the libraries dpkg-shlibdeps finds in the native helper), the conffile, the file list (the
// program, runtime dependencies only, the helper, the units with the package's paths, man pages,
// docs), the man pages and the example configuration equal to a fresh render of the sources,
// the program running from the unpacked tree, and lintian: no error, no warning that is not
// overridden with its reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/process.js';
import { renderCommandManPage, renderConfigManPage } from '../../src/cli/render/man.js';
import { renderExampleConfig } from '../../src/cli/render/example-conf.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string }; dependencies: Record<string, string> };
const work = mkdtempSync(join(tmpdir(), 'vrf-resolver-deb-'));
const tree = join(work, 'tree');
let deb = process.env['VRF_RESOLVER_DEB'] ?? '';
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const field = (name: string): string => sh('dpkg-deb', ['-f', deb, name]).trim();
const at = (p: string): string => join(tree, p);
const LIB = 'usr/lib/vrf-resolver';
const UNITS = ['vrf-resolver@.service', 'vrf-resolver@default.service', 'vrf-resolver-net@.service', 'vrf-resolver@.socket', 'vrf-resolver@default.socket'];

beforeAll(() => {
  if (!deb) {
    const r = spawnSync('bash', [join(REPO_ROOT, 'systemd/deb/build.sh'), '--out-dir', join(work, 'out')], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`systemd/deb/build.sh failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    deb = r.stdout.trim().split('\n').pop()!;
  }
  sh('dpkg-deb', ['-x', deb, tree]);
}, 660_000);

describe('the package file', () => {
  it('is named vrf-resolver_VERSION_ARCH.deb after package.json and this architecture', () => {
    const arch = sh('dpkg', ['--print-architecture']).trim();
    expect(deb.split('/').pop()).toBe(`vrf-resolver_${pkg.version}_${arch}.deb`);
  });

  it('has honest control fields: the Node.js of engines, iproute2, the shared libraries of the helper', () => {
    expect(field('Package')).toBe('vrf-resolver');
    expect(field('Version')).toBe(pkg.version);
    expect(field('Architecture')).toBe(sh('dpkg', ['--print-architecture']).trim());
    const depends = field('Depends').split(/,\s*/);
    const nodeMin = pkg.engines.node.replace(/^>=\s*/, '');
    expect(depends).toContain(`nodejs (>= ${nodeMin})`);
    expect(depends).toContain('iproute2');
    expect(depends.some((d) => /^libc6 \(>= [\d.]+\)$/.test(d)), depends.join(', ')).toBe(true);
    expect(depends.some((d) => /^libstdc\+\+6 \(>= [\d.]+\)$/.test(d)), depends.join(', ')).toBe(true);
    expect(field('Section')).toBe('net');
    expect(field('Priority')).toBe('optional');
    expect(Number(field('Installed-Size'))).toBeGreaterThan(1000);
    expect(field('Maintainer')).toMatch(/^.+ <[^@\s]+@[^@\s]+>$/);
    expect(field('Description')).toMatch(/^caching DNS forwarder for Linux VRFs\n/);
  });

  it('marks the example configuration, and only it, as a conffile; has the maintainer scripts', () => {
    const info = sh('dpkg-deb', ['-I', deb]);
    for (const s of ['postinst', 'prerm', 'postrm']) expect(info).toMatch(new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\* +${s} +#!/bin/sh$`, 'm'));
    const control = join(work, 'control');
    sh('dpkg-deb', ['-e', deb, control]);
    expect(readFileSync(join(control, 'conffiles'), 'utf8')).toBe('/etc/vrf-resolver/vrf-resolver.conf.example\n');
    for (const s of ['postinst', 'prerm', 'postrm']) expect(spawnSync('sh', ['-n', join(control, s)]).status, s).toBe(0);
  });

  it('holds every file as root:root, nothing under /usr/local', () => {
    const list = sh('dpkg-deb', ['-c', deb]).trim().split('\n');
    expect(list.length).toBeGreaterThan(100);
    for (const line of list) {
      expect(line, line).toMatch(/^([-d]r[-w][-x]r-[-x]r-[-x]|lrwxrwxrwx) root\/root /);
      expect(line, line).not.toMatch(/\.\/usr\/local\//);
    }
  });
});

describe('the files', () => {
  it('the program, its runtime dependencies only, the native helper, /usr/bin/vrf-resolver', () => {
    expect(readlinkSync(at('usr/bin/vrf-resolver'))).toBe('../lib/vrf-resolver/dist/main.js');
    expect(statSync(at(`${LIB}/dist/main.js`)).mode & 0o777).toBe(0o755);
    expect(readFileSync(at(`${LIB}/dist/main.js`), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(JSON.parse(readFileSync(at(`${LIB}/package.json`), 'utf8')).version).toBe(pkg.version);
    expect(existsSync(at(`${LIB}/build/native/Release/vrf_socket.node`))).toBe(true);
    const modules = readdirSync(at(`${LIB}/node_modules`));
    for (const dep of Object.keys(pkg.dependencies).filter((d) => d !== 'node-addon-api')) expect(modules, dep).toContain(dep);
    for (const dev of ['typescript', 'vitest', 'cmake-js', 'fast-check', '@types', 'node-addon-api', '.bin']) expect(modules, dev).not.toContain(dev);
    expect(readdirSync(at(`${LIB}/dist`)).some((f) => f.endsWith('.map'))).toBe(false);
  });

  it('the units, from systemd/ with the package\'s paths (one source: install.sh installs the same into /usr/local)', () => {
    expect(readdirSync(at('usr/lib/systemd/system')).sort()).toEqual([...UNITS].sort());
    for (const u of UNITS) {
      const source = readFileSync(join(REPO_ROOT, 'systemd', u), 'utf8');
      const packaged = readFileSync(at(`usr/lib/systemd/system/${u}`), 'utf8');
      expect(packaged, u).not.toContain('/usr/local');
      expect(packaged, u).toBe(source
        .replaceAll('/usr/local/bin/vrf-resolver', '/usr/bin/vrf-resolver')
        .replace(/^Documentation=file:\/\/\/usr\/local\/lib\/vrf-resolver\/README\.md$/m, 'Documentation=man:vrf-resolver(8) man:vrf-resolver.conf(5)'));
    }
    expect(readFileSync(at('usr/lib/systemd/system/vrf-resolver@.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/vrf-resolver run --instance %i$/m);
  });

  it('the man pages and the example configuration, equal to a fresh render of the command table and the schema', () => {
    const page8 = gunzipSync(readFileSync(at('usr/share/man/man8/vrf-resolver.8.gz'))).toString('utf8');
    const page5 = gunzipSync(readFileSync(at('usr/share/man/man5/vrf-resolver.conf.5.gz'))).toString('utf8');
    const date = /^\.TH \S+ 8 "([\d\\-]+)"/m.exec(page8)?.[1]?.replace(/\\-/g, '-');
    expect(date).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(page8).toBe(renderCommandManPage({ version: pkg.version, date: date! }));
    expect(page5).toBe(renderConfigManPage({ version: pkg.version, date: date! }));
    const example = '/etc/vrf-resolver/vrf-resolver.conf.example';
    expect(readFileSync(at(example), 'utf8')).toBe(renderExampleConfig(example));
  });

  it('the docs: README, a changelog whose top entry is this version, copyright in the machine-readable format', () => {
    const doc = 'usr/share/doc/vrf-resolver';
    expect(gunzipSync(readFileSync(at(`${doc}/README.md.gz`))).toString('utf8')).toBe(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
    const changelog = gunzipSync(readFileSync(at(`${doc}/changelog.gz`))).toString('utf8');
    expect(changelog.split('\n')[0]).toBe(`vrf-resolver (${pkg.version}) unstable; urgency=medium`);
    const copyright = readFileSync(at(`${doc}/copyright`), 'utf8');
    expect(copyright).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/);
    expect(copyright).toMatch(/^Files: \*\nCopyright: .+\nLicense: Expat$/m);
    const shipped = readdirSync(at(`${LIB}/node_modules`)).flatMap((n) => (n.startsWith('@') ? readdirSync(at(`${LIB}/node_modules/${n}`)).map((s) => `${n}/${s}`) : [n]));
    for (const m of shipped) expect(copyright, m).toContain(`Files: usr/lib/vrf-resolver/node_modules/${m}/*\n`);
    for (const l of new Set([...copyright.matchAll(/^License: (\S+)$/gm)].map((x) => x[1]))) {
      expect(copyright, l).toMatch(new RegExp(`^License: ${l!.replace(/[.+]/g, '\\$&')}\\n [^\\n]`, 'm')); // its text, or where to find it
    }
    expect(existsSync(at(`${doc}/examples/kernel-before-5.7.conf`))).toBe(true);
  });
});

describe('the unpacked program', () => {
  const node = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  it('runs: --version, help, check-config', () => {
    const main = at(`${LIB}/dist/main.js`);
    expect(node([main, '--version']).stdout.trim()).toContain(pkg.version);
    expect(node([main, 'help', 'config']).stdout).toContain('CacheMaxEntries=');
    const c = node([main, 'check-config', '--instance', 'vrdebnone', '--upstream', '192.0.2.1']);
    expect(c.status, c.stderr).toBe(0);
  });
  it('loads its native helper (every symbol resolves in this Node)', () => {
    const r = node(['-e', `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(at(`${LIB}/build/native/Release/vrf_socket.node`))}); console.log(typeof m.exports.createSocket)`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function');
  });
});

describe('lintian', () => {
  it.skipIf(!have('lintian'))('reports no error and no warning that is not overridden', () => {
    const r = spawnSync('lintian', ['--no-tag-display-limit', deb], { encoding: 'utf8', timeout: 240_000 });
    const tags = (r.stdout + r.stderr).split('\n').filter((l) => /^[EW]: /.test(l));
    expect(tags).toEqual([]);
  }, 300_000);
});
