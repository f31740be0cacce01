import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from '../../src/cli/check-config.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vr-check-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('checkConfig', () => {
  it('summarizes a valid configuration: VRF, listeners, upstreams with sources, cache', () => {
    const rc = join(dir, 'resolv.conf');
    writeFileSync(rc, 'nameserver 2001:db8::53\n');
    const file = join(dir, 'mgmt.conf');
    writeFileSync(file, `[Resolve]\nDNS=192.0.2.53\nResolvConf=${rc}\nCacheMaxEntries=500\n`);
    const r = checkConfig(file, { vrf: 'mgmt' });
    expect(r.ok).toBe(true);
    expect(r.text).toContain(`${file}: OK`);
    expect(r.text).toMatch(/VRF: +mgmt/);
    expect(r.text).toMatch(/Listen: +127\.0\.0\.1:53 \[::1\]:53 \(UDP and TCP, device mgmt\)/);
    expect(r.text).toMatch(/Upstreams: +192\.0\.2\.53:53 \[2001:db8::53\]:53 \(device mgmt; in this order\)/);
    expect(r.text).toMatch(/TLS: +off/);
    expect(r.text).toContain(`  from:     DNS= in ${file}, ${rc}\n`);
    expect(r.text).toMatch(/Cache: +on, 500 entries, TTL 0\.\.86400 s, negative <= 3600 s, failures 5 s/);
    expect(r.text).toMatch(/Log level: +info/);
  });

  it('says when the cache is off and when the default VRF is used', () => {
    const file = join(dir, 'default.conf');
    writeFileSync(file, '[Resolve]\nDNS=192.0.2.53\nCache=no\n');
    const r = checkConfig(file, {});
    expect(r.text).toMatch(/Cache: +off/);
    expect(r.text).toMatch(/VRF: +none \(default VRF\)/);
  });

  it('lists every problem, one per line with its path', () => {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, '[Resolve]\nDNS=dns.google\nCacheMaxEntries=0\nNope=1\n');
    const r = checkConfig(file, { vrf: 'way-too-long-vrf-name' });
    expect(r.ok).toBe(false);
    const lines = r.text.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${file}:2 DNS: "dns.google" is not an IP address`)),
      `${file}:3 CacheMaxEntries: 0 is out of bounds: must be from 1 to 10000000 (entries)`,
      expect.stringMatching(new RegExp(`^${file}:4 Nope: unknown key "Nope"`)),
      expect.stringMatching(/^--vrf: "way-too-long-vrf-name" is not a valid interface name/),
      `${file}: 4 problems, not valid`,
    ]);
  });

  it('reports a missing file by its path', () => {
    const file = join(dir, 'absent.conf');
    const r = checkConfig(file, {});
    expect(r.ok).toBe(false);
    expect(r.text).toContain(`${file}: cannot read ${file}: no such file`);
  });

  it('reads drop-ins', () => {
    const file = join(dir, 'x.conf');
    writeFileSync(file, '[Resolve]\nDNS=192.0.2.53\n');
    mkdirSync(`${file}.d`);
    writeFileSync(join(`${file}.d`, 'log.conf'), '[Resolve]\nLogLevel=debug\n');
    expect(checkConfig(file, {}).text).toMatch(/Log level: +debug/);
  });
});
