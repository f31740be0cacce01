import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResolvConf, readResolvConf } from '../../src/config/resolv-conf.js';

describe('parseResolvConf', () => {
  it('reads IPv4 and IPv6 nameservers on port 53, with their file:line', () => {
    const text = [
      '# written by dhclient for mgmt',
      'search example.net',
      'domain example.net',
      'options edns0 timeout:2',
      'nameserver 192.0.2.53',
      '; another comment',
      '  nameserver   2001:db8::53   # trailing comment',
      'sortlist 130.155.160.0/255.255.240.0',
    ].join('\n');
    const r = parseResolvConf(text, '/run/mgmt/resolv.conf');
    expect(r.problems).toEqual([]);
    expect(r.servers).toEqual([
      { endpoint: { family: 4, address: '192.0.2.53', port: 53 }, path: '/run/mgmt/resolv.conf:5 nameserver' },
      { endpoint: { family: 6, address: '2001:db8::53', port: 53 }, path: '/run/mgmt/resolv.conf:7 nameserver' },
    ]);
  });

  it('ignores commented-out nameserver lines', () => {
    const r = parseResolvConf('#nameserver 192.0.2.1\n;nameserver 192.0.2.2\nnameserver 192.0.2.3\n', 'f');
    expect(r.servers.map((s) => s.endpoint.address)).toEqual(['192.0.2.3']);
  });

  it('rejects a scoped IPv6 nameserver with a clear problem', () => {
    const r = parseResolvConf('nameserver 192.0.2.53\nnameserver fe80::1%eth0\n', 'rc');
    expect(r.servers).toHaveLength(1);
    expect(r.problems).toEqual([{ path: 'rc:2 nameserver', message: expect.stringMatching(/scoped IPv6.*%eth0/) }]);
  });

  it('rejects host names, ports and missing addresses', () => {
    const r = parseResolvConf('nameserver dns.google\nnameserver 192.0.2.1:5353\nnameserver [::1]:53\nnameserver\n', 'rc');
    expect(r.problems.map((p) => p.path)).toEqual(['rc:1 nameserver', 'rc:2 nameserver', 'rc:3 nameserver', 'rc:4 nameserver']);
    expect(r.problems[0]?.message).toMatch(/addresses only/);
    expect(r.problems[1]?.message).toMatch(/bare address/);
    expect(r.problems[3]?.message).toMatch(/without an address/);
  });

  it('reports a file without nameserver lines', () => {
    const r = parseResolvConf('search example.net\n# nothing else\n', '/etc/empty.conf');
    expect(r.problems).toEqual([{ path: '/etc/empty.conf', message: expect.stringMatching(/no nameserver lines/) }]);
  });
});

describe('readResolvConf', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vr-rc-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file', () => {
    const file = join(dir, 'resolv.conf');
    writeFileSync(file, 'nameserver 198.51.100.1\n');
    expect(readResolvConf(file, 'x').servers[0]?.endpoint.address).toBe('198.51.100.1');
  });

  it('reports a missing file at the place that named it, saying which path', () => {
    const file = join(dir, 'missing.conf');
    expect(readResolvConf(file, '/etc/vrf-resolver/mgmt.conf:4 ResolvConf').problems).toEqual([
      { path: '/etc/vrf-resolver/mgmt.conf:4 ResolvConf', message: `cannot read ${file}: no such file` },
    ]);
  });
});
