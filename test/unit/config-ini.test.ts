import { describe, expect, it } from 'vitest';
import { emptyLayered, layer, parseIni, type Assignment } from '../../src/config/ini.js';

const F = '/etc/vrf-resolver/mgmt.conf';

describe('parseIni (resolved.conf(5) syntax)', () => {
  it('reads Key=Value under [Resolve], skipping comments and blank lines, trimming whitespace', () => {
    const text = ['# comment', '; also a comment', '', '[Resolve]', '  VRF = mgmt  ', 'DNS=192.0.2.1 192.0.2.2', 'Cache=no'].join('\n');
    const r = parseIni(text, F);
    expect(r.problems).toEqual([]);
    expect(r.entries).toEqual([
      { key: 'VRF', value: 'mgmt', path: `${F}:5 VRF`, origin: `VRF= in ${F}` },
      { key: 'DNS', value: '192.0.2.1 192.0.2.2', path: `${F}:6 DNS`, origin: `DNS= in ${F}` },
      { key: 'Cache', value: 'no', path: `${F}:7 Cache`, origin: `Cache= in ${F}` },
    ]);
  });

  it('handles CRLF line endings and values containing "="', () => {
    const r = parseIni('[Resolve]\r\nResolvConf=/run/a=b.conf\r\n', F);
    expect(r.entries[0]?.value).toBe('/run/a=b.conf');
  });

  it('rejects unknown keys, suggesting the right spelling', () => {
    const r = parseIni('[Resolve]\nCacheMaxTtlSec=60\nFoo=1\nUpstreamTimeoutMS=5\n', F);
    expect(r.entries).toEqual([]);
    expect(r.problems).toEqual([
      { path: `${F}:2 CacheMaxTtlSec`, message: expect.stringMatching(/unknown key "CacheMaxTtlSec"; did you mean CacheMaxTTLSec=\?/) },
      { path: `${F}:3 Foo`, message: expect.stringMatching(/^unknown key "Foo" \(see/) },
      { path: `${F}:4 UpstreamTimeoutMS`, message: expect.stringMatching(/did you mean UpstreamTimeoutMs=/) },
    ]);
  });

  it('reports an unknown section once and skips its keys', () => {
    const r = parseIni('[Network]\nDNS=192.0.2.1\nWhatever=1\n[Resolve]\nDNS=192.0.2.2\n', F);
    expect(r.problems).toEqual([{ path: `${F}:1`, message: 'unknown section [Network]; the only section is [Resolve]' }]);
    expect(r.entries.map((e) => e.value)).toEqual(['192.0.2.2']);
  });

  it('reports assignments outside a section, lines without "=" and broken headers', () => {
    const r = parseIni('DNS=192.0.2.1\n[Resolve]\nnonsense\n[Resolve\n', F);
    expect(r.problems.map((p) => p.path)).toEqual([`${F}:1 DNS`, `${F}:3`, `${F}:4`]);
    expect(r.problems[0]?.message).toMatch(/outside of a section/);
    expect(r.problems[1]?.message).toMatch(/expected Key=Value/);
    expect(r.problems[2]?.message).toMatch(/malformed section header/);
  });

  it('keys are case-sensitive, as in systemd', () => {
    expect(parseIni('[Resolve]\ndns=192.0.2.1\n', F).problems[0]?.message).toMatch(/did you mean DNS=/);
  });
});

describe('layer (list and scalar semantics)', () => {
  const fold = (text: string) => layer(emptyLayered(), parseIni(text, F).entries);

  it('appends each DNS= assignment, space-separated items', () => {
    const l = fold('[Resolve]\nDNS=192.0.2.1\nDNS=192.0.2.2   192.0.2.3\n');
    expect(l.lists.get('DNS')?.items.map((i) => [i.value, i.path])).toEqual([
      ['192.0.2.1', `${F}:2 DNS`], ['192.0.2.2', `${F}:3 DNS`], ['192.0.2.3', `${F}:3 DNS`],
    ]);
  });

  it('an empty DNS= resets the list so far', () => {
    const l = fold('[Resolve]\nDNS=192.0.2.1\nDNS=\nDNS=192.0.2.9\n');
    expect(l.lists.get('DNS')?.items.map((i) => i.value)).toEqual(['192.0.2.9']);
    expect(fold('[Resolve]\nListen=192.0.2.1\nListen=\n').lists.get('Listen')).toEqual({ items: [], lastPath: `${F}:3 Listen` });
  });

  it('the last assignment of a scalar wins', () => {
    const l = fold('[Resolve]\nCacheMaxEntries=5\nCacheMaxEntries=7\n');
    expect(l.scalars.get('CacheMaxEntries')?.value).toBe('7');
    expect(l.scalars.get('CacheMaxEntries')?.path).toBe(`${F}:3 CacheMaxEntries`);
  });

  it('layers later sources on earlier ones', () => {
    const l = fold('[Resolve]\nDNS=192.0.2.1\n');
    const flag: Assignment = { key: 'DNS', value: '198.51.100.1', path: '--upstream', origin: '--upstream' };
    layer(l, [flag]);
    expect(l.lists.get('DNS')?.items.map((i) => i.value)).toEqual(['192.0.2.1', '198.51.100.1']);
  });
});
