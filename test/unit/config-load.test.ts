import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type CliFlags, type LoadOptions } from '../../src/config/load.js';
import { OPTIONS } from '../../src/config/schema.js';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';
import { cidr } from '../helpers/instance.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vr-load-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, ...lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
function problems(opts: LoadOptions): ConfigProblem[] {
  try {
    loadConfig(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}
const up: CliFlags = { upstream: ['192.0.2.53'] };

describe('loadConfig: defaults from the schema', () => {
  it('fills every option with its schema default', () => {
    const c = loadConfig({ flags: up });
    expect(c).toEqual({
      vrf: null,
      server: {
        listen: [{ family: 4, address: '127.0.0.1', port: 53 }, { family: 6, address: '::1', port: 53 }],
        maxUdpSize: OPTIONS.MaxUDPSize.default, tcpIdleTimeoutMs: OPTIONS.TCPIdleTimeoutMs.default,
        tcpMaxConnections: OPTIONS.TCPMaxConnections.default, tcpMaxConnectionsPerClient: OPTIONS.TCPMaxConnectionsPerClient.default,
        tcpMaxPipelined: OPTIONS.TCPMaxPipelined.default,
      },
      upstream: {
        device: null, servers: [{ family: 4, address: '192.0.2.53', port: 53 }], tls: { mode: 'no', caFile: null, pinsSha256: [] },
        attemptTimeoutMs: 1500, queryTimeoutMs: 5000, ednsUdpSize: 1232, maxInflight: 1024,
      },
      cache: { enabled: true, maxEntries: 10000, minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600, failureTtlSec: 5, maxMiB: 64, staleSec: 0, staleClientTimeoutMs: 1800 },
      access: { allowFrom: [cidr('127.0.0.0/8'), cidr('::1/128')], denyAction: 'refuse' },
      control: { instance: 'default', socket: '/run/vrf-resolver/default.sock', group: null, metrics: null },
      logLevel: 'info',
      sources: ['--upstream'],
    });
  });

  it('an empty value goes back to the default', () => {
    const f = write('a.conf', '[Resolve]', 'DNS=192.0.2.1', 'CacheMaxEntries=', 'LogLevel=');
    const c = loadConfig({ file: f, flags: {} });
    expect(c.cache.maxEntries).toBe(10000);
    expect(c.logLevel).toBe('info');
  });
});

describe('loadConfig: Forward= (split DNS)', () => {
  it('one route per line or flag, longest domain first, servers in DNS= syntax with %DEVICE and #NAME', () => {
    const f = write('fw.conf', '[Resolve]', 'DNS=192.0.2.1', 'Forward=Corp.Example. 10.1.1.53%mgmt 10.1.2.53:5353',
      'Forward=lab.corp.example [2001:db8::53]:53%mgmt#dns.lab.example');
    expect(loadConfig({ file: f, flags: {} }).upstream.routes).toEqual([
      { domain: 'lab.corp.example', servers: [{ family: 6, address: '2001:db8::53', port: 53, device: 'mgmt', tlsName: 'dns.lab.example' }] },
      { domain: 'corp.example', servers: [{ family: 4, address: '10.1.1.53', port: 53, device: 'mgmt' }, { family: 4, address: '10.1.2.53', port: 5353 }] },
    ]);
    const flags = loadConfig({ file: f, flags: { forward: ['a.example 10.0.0.1', 'b.example 10.0.0.2%eth0'] } }).upstream.routes;
    expect(flags?.map((r) => r.domain)).toEqual(['a.example', 'b.example']); // the flags replace the file's routes
    expect(loadConfig({ flags: { upstream: ['192.0.2.1'] } }).upstream.routes).toBeUndefined();
  });

  it('every bad route is reported with its line: a bad domain, no server, a domain twice, a bad server', () => {
    const f = write('fwbad.conf', '[Resolve]', 'DNS=192.0.2.1', 'Forward=-x 10.0.0.1', 'Forward=y.example', 'Forward=z.example 10.0.0.1',
      'Forward=z.example 10.0.0.2', 'Forward=w.example 10.0.0.999 10.0.0.1%bad/dev');
    const text = problems({ file: f, flags: {} }).map((p) => `${p.path}: ${p.message}`).join('\n');
    expect(text).toMatch(/:3 Forward: "-x" is not a domain/);
    expect(text).toMatch(/:4 Forward: Forward=y\.example names no server/);
    expect(text).toMatch(/:6 Forward: z\.example is forwarded twice \(also at .*:5 Forward\)/);
    expect(text).toMatch(/:7 Forward: .*10\.0\.0\.999/);
    expect(text).toMatch(/:7 Forward: .*"bad\/dev" after "%" is not a device name/);
  });
});

describe('loadConfig: DNS over TLS', () => {
  const pin = Buffer.alloc(32, 7).toString('base64');

  it('DNS=ADDR#NAME names the TLS server; with DNSOverTLS= servers without a port use 853, resolv.conf servers too', () => {
    const rc = write('resolv.conf', 'nameserver 192.0.2.9');
    const ca = write('ca.pem', '-----BEGIN CERTIFICATE-----', 'x', '-----END CERTIFICATE-----');
    const f = write('tls.conf', '[Resolve]', 'DNS=192.0.2.1#DNS.Example.NET. [2001:db8::1]:8853#dns6.example.net 192.0.2.2',
      `ResolvConf=${rc}`, 'DNSOverTLS=yes', `TLSCAFile=${ca}`, `TLSPinSHA256=${pin}`);
    const c = loadConfig({ file: f, flags: {} });
    expect(c.upstream.servers).toEqual([
      { family: 4, address: '192.0.2.1', port: 853, tlsName: 'dns.example.net' },
      { family: 6, address: '2001:db8::1', port: 8853, tlsName: 'dns6.example.net' },
      { family: 4, address: '192.0.2.2', port: 853 },
      { family: 4, address: '192.0.2.9', port: 853 },
    ]);
    expect(c.upstream.tls).toEqual({ mode: 'yes', caFile: ca, pinsSha256: [pin] });
  });

  it('--upstream ADDR#NAME and --dns-over-tls opportunistic; without TLS the name is kept and port 53 stays', () => {
    const c = loadConfig({ flags: { upstream: ['192.0.2.1#dns.example.net'], dnsOverTls: 'opportunistic' } });
    expect(c.upstream.servers).toEqual([{ family: 4, address: '192.0.2.1', port: 853, tlsName: 'dns.example.net' }]);
    expect(c.upstream.tls.mode).toBe('opportunistic');
    expect(loadConfig({ flags: { upstream: ['192.0.2.1#dns.example.net'] } }).upstream.servers[0]!.port).toBe(53);
  });

  it('every TLS problem is reported at once, each with its place', () => {
    const f = write('bad-tls.conf', '[Resolve]', 'DNS=192.0.2.1#-bad-.example 192.0.2.2#', 'DNSOverTLS=maybe',
      `TLSCAFile=${join(dir, 'missing.pem')}`, 'TLSPinSHA256=notbase64 AAAA');
    const err = (() => { try { loadConfig({ file: f, flags: {} }); } catch (e) { return e as ConfigError; } return null; })()!;
    const text = err.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    expect(text).toMatch(/-bad-\.example" after "#" is not a host name/);
    expect(text).toMatch(/192\.0\.2\.2#": "" after "#" is not a host name/);
    expect(text).toMatch(/DNSOverTLS.*maybe/);
    expect(text).toMatch(/missing\.pem/);
    expect(text).toMatch(/"notbase64" is not a SHA-256 pin/);
    expect(text).toMatch(/"AAAA" is not a SHA-256 pin/);
  });

  it('TLS keys without DNSOverTLS=, and pins with opportunistic TLS, are refused with what to do', () => {
    const ca = write('ca2.pem', '-----BEGIN CERTIFICATE-----');
    const off = write('off.conf', '[Resolve]', 'DNS=192.0.2.1', `TLSCAFile=${ca}`, `TLSPinSHA256=${pin}`);
    expect(() => loadConfig({ file: off, flags: {} })).toThrow(/TLSCAFile= is set but DNSOverTLS= is no[\s\S]*TLSPinSHA256= is set but DNSOverTLS= is no/);
    const opp = write('opp.conf', '[Resolve]', 'DNS=192.0.2.1', 'DNSOverTLS=opportunistic', `TLSPinSHA256=${pin}`);
    expect(() => loadConfig({ file: opp, flags: {} })).toThrow(/TLSPinSHA256= needs DNSOverTLS=yes/);
  });
});

describe('loadConfig: file values', () => {
  it('reads every key from the file', () => {
    const f = write('mgmt.conf', '[Resolve]', 'VRF=mgmt', 'Listen=127.0.0.1 [::1]:5353', 'Port=5300', 'DNS=192.0.2.1 [2001:db8::1]:5353',
      'UpstreamDevice=mgmt2', 'Cache=off', 'CacheMaxEntries=42', 'CacheMinTTLSec=10', 'CacheMaxTTLSec=600',
      'CacheNegativeMaxTTLSec=60', 'CacheFailureTTLSec=0', 'UpstreamTimeoutMs=700', 'QueryTimeoutMs=3000',
      'EDNSBufferSize=4096', 'MaxUDPSize=512', 'MaxInflight=9', 'TCPIdleTimeoutMs=2000', 'TCPMaxConnections=3', 'TCPMaxConnectionsPerClient=2',
      'TCPMaxPipelined=2', 'LogLevel=Debug', 'ServeStaleSec=86400', 'ServeStaleClientTimeoutMs=900');
    const c = loadConfig({ file: f, flags: {} });
    expect(c.vrf).toBe('mgmt');
    expect(c.server).toEqual({
      listen: [{ family: 4, address: '127.0.0.1', port: 5300 }, { family: 6, address: '::1', port: 5353 }],
      maxUdpSize: 512, tcpIdleTimeoutMs: 2000, tcpMaxConnections: 3, tcpMaxConnectionsPerClient: 2, tcpMaxPipelined: 2,
    });
    expect(c.upstream).toEqual({
      device: 'mgmt2', servers: [{ family: 4, address: '192.0.2.1', port: 53 }, { family: 6, address: '2001:db8::1', port: 5353 }],
      tls: { mode: 'no', caFile: null, pinsSha256: [] },
      attemptTimeoutMs: 700, queryTimeoutMs: 3000, ednsUdpSize: 4096, maxInflight: 9,
    });
    expect(c.cache).toEqual({ enabled: false, maxEntries: 42, minTtlSec: 10, maxTtlSec: 600, negativeMaxTtlSec: 60, failureTtlSec: 0, maxMiB: 64, staleSec: 86400, staleClientTimeoutMs: 900 });
    expect(c.logLevel).toBe('debug');
    expect(c.sources).toEqual([`DNS= in ${f}`]);
  });

  it('UpstreamDevice defaults to the VRF; "default" means no device', () => {
    expect(loadConfig({ flags: { ...up, vrf: 'mgmt' } }).upstream.device).toBe('mgmt');
    expect(loadConfig({ flags: { ...up, vrf: 'mgmt', upstreamDevice: 'default' } }).upstream.device).toBeNull();
    expect(loadConfig({ flags: { ...up, upstreamDevice: 'mgmt' } })).toMatchObject({ vrf: null, upstream: { device: 'mgmt' } });
  });

  it('VRF "default" or empty is the default VRF; the instance name is the fallback', () => {
    expect(loadConfig({ flags: { ...up, vrf: 'default' } }).vrf).toBeNull();
    expect(loadConfig({ flags: up, instance: 'blue' }).vrf).toBe('blue');
    expect(loadConfig({ flags: up, instance: 'default' }).vrf).toBeNull();
    const f = write('x.conf', '[Resolve]', 'VRF=', 'DNS=192.0.2.1');
    expect(loadConfig({ file: f, flags: {}, instance: 'blue' }).vrf).toBeNull();
    expect(loadConfig({ file: f, flags: { vrf: 'red' }, instance: 'blue' }).vrf).toBe('red');
  });

  it('the first Listen= replaces the default list; an empty one leaves none (a problem)', () => {
    const f = write('l.conf', '[Resolve]', 'DNS=192.0.2.1', 'Listen=10.0.0.1', 'Listen=10.0.0.2:5353');
    expect(loadConfig({ file: f, flags: {} }).server.listen.map((e) => `${e.address}:${e.port}`)).toEqual(['10.0.0.1:53', '10.0.0.2:5353']);
    const g = write('g.conf', '[Resolve]', 'DNS=192.0.2.1', 'Listen=');
    expect(problems({ file: g, flags: {} })).toEqual([{ path: `${g}:3 Listen`, message: expect.stringMatching(/no listen addresses/) }]);
  });

  it('DNS= appends and an empty DNS= resets, across the file', () => {
    const f = write('d.conf', '[Resolve]', 'DNS=192.0.2.1', 'DNS=', 'DNS=192.0.2.2', 'DNS=192.0.2.3 192.0.2.2');
    expect(loadConfig({ file: f, flags: {} }).upstream.servers.map((s) => s.address)).toEqual(['192.0.2.2', '192.0.2.3']);
  });

  it('appends the ResolvConf= nameservers to DNS= and names both sources', () => {
    const rc = write('resolv.conf', 'search example.net', 'nameserver 198.51.100.1', 'nameserver 192.0.2.1');
    const f = write('r.conf', '[Resolve]', `ResolvConf=${rc}`, 'DNS=192.0.2.1');
    const c = loadConfig({ file: f, flags: {} });
    expect(c.upstream.servers.map((s) => s.address)).toEqual(['192.0.2.1', '198.51.100.1']);
    expect(c.sources).toEqual([`DNS= in ${f}`, rc]);
    expect(loadConfig({ flags: { resolvConf: rc } }).sources).toEqual([rc]);
  });
});

describe('loadConfig: layers', () => {
  it('flags override the file; a list flag replaces the file list', () => {
    const f = write('m.conf', '[Resolve]', 'VRF=mgmt', 'DNS=192.0.2.1 192.0.2.2', 'Listen=10.0.0.1', 'Port=5300', 'Cache=yes', 'LogLevel=warn');
    const c = loadConfig({ file: f, flags: {
      vrf: 'blue', upstream: ['198.51.100.7:5353'], listen: ['10.9.9.9'], port: '8053', noCache: true, logLevel: 'trace',
      upstreamDevice: 'green',
    } });
    expect(c.vrf).toBe('blue');
    expect(c.upstream.servers).toEqual([{ family: 4, address: '198.51.100.7', port: 5353 }]);
    expect(c.upstream.device).toBe('green');
    expect(c.server.listen).toEqual([{ family: 4, address: '10.9.9.9', port: 8053 }]);
    expect(c.cache.enabled).toBe(false);
    expect(c.logLevel).toBe('trace');
    expect(c.sources).toEqual(['--upstream']);
  });

  it('--port applies to the Listen= entries of the file without a port', () => {
    const f = write('p.conf', '[Resolve]', 'DNS=192.0.2.1', 'Listen=127.0.0.1 [::1]:53');
    expect(loadConfig({ file: f, flags: { port: '5353' } }).server.listen.map((e) => e.port)).toEqual([5353, 53]);
  });

  it("reads drop-ins <file>.d/*.conf in lexical order after the file ('auto')", () => {
    const f = write('mgmt.conf', '[Resolve]', 'DNS=192.0.2.1', 'CacheMaxEntries=1');
    mkdirSync(`${f}.d`);
    writeFileSync(join(`${f}.d`, '20-b.conf'), '[Resolve]\nDNS=192.0.2.3\nCacheMaxEntries=3\n');
    writeFileSync(join(`${f}.d`, '10-a.conf'), '[Resolve]\nDNS=192.0.2.2\nCacheMaxEntries=2\n');
    writeFileSync(join(`${f}.d`, '30-c.conf.disabled'), '[Resolve]\nCacheMaxEntries=99\n');
    const c = loadConfig({ file: f, dropInDir: 'auto', flags: {} });
    expect(c.upstream.servers.map((s) => s.address)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(c.cache.maxEntries).toBe(3);
    expect(c.sources).toEqual([`DNS= in ${f}`, `DNS= in ${join(`${f}.d`, '10-a.conf')}`, `DNS= in ${join(`${f}.d`, '20-b.conf')}`]);
    expect(loadConfig({ file: f, flags: {} }).cache.maxEntries).toBe(1); // no dropInDir: none read
  });

  it("'auto' without a .d directory is fine; an explicit missing directory is a problem", () => {
    const f = write('solo.conf', '[Resolve]', 'DNS=192.0.2.1');
    expect(loadConfig({ file: f, dropInDir: 'auto', flags: {} }).upstream.servers).toHaveLength(1);
    const missing = join(dir, 'nope.d');
    expect(problems({ file: f, dropInDir: missing, flags: {} })).toEqual([{ path: missing, message: `cannot read ${missing}: no such file` }]);
  });
});

describe('loadConfig: problems, each with its path', () => {
  it('reports an unreadable config file with its path', () => {
    const f = join(dir, 'missing.conf');
    expect(problems({ file: f, flags: up })).toEqual([{ path: f, message: `cannot read ${f}: no such file` }]);
  });

  it('reports bad numbers with their bounds, bad booleans, bad levels, bad addresses', () => {
    const f = write('bad.conf', '[Resolve]', 'DNS=192.0.2.1 dns.google', 'CacheMaxTTLSec=0', 'UpstreamTimeoutMs=fast',
      'Cache=maybe', 'LogLevel=loud', 'Listen=127.0.0.1:99999', 'Port=0');
    expect(problems({ file: f, flags: {} })).toEqual([ // in file order
      { path: `${f}:2 DNS`, message: '"dns.google" is not an IP address; addresses only (IPv4, IPv6, [IPv6]:PORT), no host names' },
      { path: `${f}:3 CacheMaxTTLSec`, message: '0 is out of bounds: must be from 1 to 604800 (s)' },
      { path: `${f}:4 UpstreamTimeoutMs`, message: 'expected an integer from 50 to 60000 (ms), got "fast"' },
      { path: `${f}:5 Cache`, message: 'expected a boolean (yes/no, true/false, on/off, 1/0), got "maybe"' },
      { path: `${f}:6 LogLevel`, message: 'expected one of fatal, error, warn, info, debug, trace, silent, got "loud"' },
      { path: `${f}:7 Listen`, message: '"127.0.0.1:99999": port must be a number from 1 to 65535, got "99999"' },
      { path: `${f}:8 Port`, message: '0 is out of bounds: must be from 1 to 65535' },
    ]);
  });

  it('collects every problem of file, drop-in and flags in one ConfigError', () => {
    const f = write('many.conf', '[Resolve]', 'Bogus=1', 'CacheMinTTLSec=100', 'CacheMaxTTLSec=50', '[Other]');
    mkdirSync(`${f}.d`);
    writeFileSync(join(`${f}.d`, 'x.conf'), '[Resolve]\nQueryTimeoutMs=100\nUpstreamTimeoutMs=200\n');
    let error: unknown;
    try { loadConfig({ file: f, dropInDir: 'auto', flags: { vrf: 'a/b', port: 'x', upstream: ['fe80::1%eth0'] } }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe('VR_ERR_CONFIG');
    expect(e.problems.map((p) => p.path).sort()).toEqual([
      `${f}:2 Bogus`, `${f}:3 CacheMinTTLSec`, `${f}:5`, `${join(`${f}.d`, 'x.conf')}:3 UpstreamTimeoutMs`,
      '--port', '--upstream', '--vrf',
    ].sort());
    expect(e.message).toMatch(/invalid configuration \(7 problems\)/);
    const msg = (path: string) => e.problems.find((p) => p.path === path)?.message;
    expect(msg(`${f}:3 CacheMinTTLSec`)).toBe('CacheMinTTLSec (100) is greater than CacheMaxTTLSec (50)');
    expect(msg(`${join(`${f}.d`, 'x.conf')}:3 UpstreamTimeoutMs`)).toMatch(/UpstreamTimeoutMs \(200\) is greater than QueryTimeoutMs \(100\)/);
    expect(msg('--vrf')).toMatch(/not a valid interface name: 1 to 15 characters/);
    expect(msg('--upstream')).toMatch(/scoped IPv6/);
    expect(msg('--port')).toMatch(/from 1 to 65535/);
  });

  it('asks for upstream servers when there are none', () => {
    const f = write('none.conf', '[Resolve]', 'VRF=mgmt');
    expect(problems({ file: f, flags: {} })).toEqual([{ path: f, message: expect.stringMatching(/no upstream servers: set DNS= or ResolvConf=/) }]);
    expect(problems({ flags: {} })).toEqual([{ path: '--upstream', message: expect.stringMatching(/set DNS= or ResolvConf=/) }]);
  });

  it('reports a ResolvConf= file that is missing or has no nameserver lines', () => {
    const f = write('rc.conf', '[Resolve]', `ResolvConf=${join(dir, 'gone')}`);
    expect(problems({ file: f, flags: {} })).toEqual([{ path: `${f}:2 ResolvConf`, message: `cannot read ${join(dir, 'gone')}: no such file` }]);
    const empty = write('empty-resolv.conf', 'search example.net');
    expect(problems({ flags: { resolvConf: empty } })).toEqual([{ path: empty, message: expect.stringMatching(/no nameserver lines/) }]);
  });

  it('rejects invalid VRF names: too long, "/", whitespace, empty instance names are fine', () => {
    for (const vrf of ['a-very-long-vrf-name', 'a/b', 'a b', 'a:b', '..']) {
      expect(problems({ flags: { ...up, vrf } })).toEqual([{ path: '--vrf', message: expect.stringMatching(/not a valid interface name/) }]);
    }
    expect(loadConfig({ flags: { ...up, vrf: 'exactly15chars_' } }).vrf).toBe('exactly15chars_');
    expect(problems({ flags: up, instance: 'bad name' })[0]?.path).toBe('instance name');
  });

  it('rejects the same listener twice', () => {
    expect(problems({ flags: { ...up, listen: ['127.0.0.1', '127.0.0.1:53'] } })).toEqual([
      { path: '--listen', message: '127.0.0.1:53 is listed twice' },
    ]);
  });
});

describe('loadConfig: forwarding loops', () => {
  it('rejects an upstream that is one of our own listeners on the same device', () => {
    const f = write('loop.conf', '[Resolve]', 'VRF=mgmt', 'DNS=192.0.2.1', 'DNS=127.0.0.1');
    expect(problems({ file: f, flags: {} })).toEqual([
      { path: `${f}:4 DNS`, message: expect.stringMatching(/127\.0\.0\.1:53 is this resolver's own listener on device mgmt: a forwarding loop/) },
    ]);
    expect(problems({ flags: { upstream: ['0:0::1'] } })[0]?.message).toMatch(/\[0:0::1\]:53 .* the default VRF/);
  });

  it('catches a resolv.conf that points back at us, with the resolv.conf line', () => {
    const rc = write('resolv.conf', 'nameserver 127.0.0.1');
    expect(problems({ flags: { resolvConf: rc } })).toEqual([{ path: `${rc}:1 nameserver`, message: expect.stringMatching(/forwarding loop/) }]);
  });

  it('catches a wildcard listener receiving a loopback upstream', () => {
    expect(problems({ flags: { listen: ['0.0.0.0'], upstream: ['127.0.0.53'] } })[0]?.message).toMatch(/forwarding loop/);
  });

  it('is no loop on another port or when upstreams use another device', () => {
    expect(loadConfig({ flags: { upstream: ['127.0.0.1:5353'] } }).upstream.servers).toHaveLength(1);
    expect(loadConfig({ flags: { vrf: 'mgmt', upstreamDevice: 'default', upstream: ['127.0.0.1'] } }).upstream.device).toBeNull();
  });
});

describe('loadConfig: the result', () => {
  it('is deeply frozen: mutation throws', () => {
    const c = loadConfig({ flags: up });
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => { (c as { vrf: string | null }).vrf = 'x'; }).toThrow(TypeError);
    expect(() => { (c.cache as { maxEntries: number }).maxEntries = 1; }).toThrow(TypeError);
    expect(() => { (c.upstream.servers as unknown as unknown[]).push(1); }).toThrow(TypeError);
    expect(() => { (c.server.listen[0] as { port: number }).port = 1; }).toThrow(TypeError);
    expect(() => { (c.sources as unknown as unknown[]).pop(); }).toThrow(TypeError);
  });

  it('drops a server listed twice (DNS= and resolv.conf), keeping the first', () => {
    const rc = write('resolv.conf', 'nameserver 192.0.2.53');
    const c = loadConfig({ flags: { ...up, resolvConf: rc } });
    expect(c.upstream.servers).toHaveLength(1);
    expect(c.sources).toEqual(['--upstream']);
  });
});

describe('loadConfig: the operator keys (AllowFrom=, DenyAction=, ControlSocket=, ControlGroup=, Metrics=)', () => {
  it('control socket: the instance name, else the VRF, else "default"; empty turns it off', () => {
    expect(loadConfig({ flags: { ...up, vrf: 'mgmt' } }).control.socket).toBe('/run/vrf-resolver/mgmt.sock');
    expect(loadConfig({ flags: up, instance: 'blue' }).control).toMatchObject({ instance: 'blue', socket: '/run/vrf-resolver/blue.sock' });
    expect(loadConfig({ flags: { ...up, control: '' } }).control.socket).toBeNull();
    expect(loadConfig({ flags: { ...up, control: '/tmp/x.sock' } }).control.socket).toBe('/tmp/x.sock');
  });

  it('reads AllowFrom= lists, DenyAction=, ControlGroup= and Metrics= from the file', () => {
    const f = write('ops.conf', '[Resolve]', 'DNS=192.0.2.1', 'AllowFrom=10.0.0.0/8', 'AllowFrom=2001:db8::/32', 'DenyAction=drop',
      'ControlGroup=netops', 'Metrics=127.0.0.1:9153');
    const c = loadConfig({ file: f, flags: {} });
    expect(c.access.allowFrom.map((n) => n.text)).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(c.access.denyAction).toBe('drop');
    expect(c.control).toMatchObject({ group: 'netops', metrics: { family: 4, address: '127.0.0.1', port: 9153 } });
  });

  it('reports every operator-key problem with its place, in one pass', () => {
    const f = write('bad-ops.conf', '[Resolve]', 'DNS=192.0.2.1', 'AllowFrom=everyone', 'DenyAction=ignore',
      'ControlSocket=relative.sock', 'ControlGroup=no way', 'Metrics=127.0.0.1', 'Listen=127.0.0.1:9153');
    const found = problems({ file: f, flags: {} });
    const msg = (key: string) => found.find((p) => p.path.includes(key))?.message ?? '';
    expect(found.map((p) => p.path.replace(/^.*:(\d+)/, 'line $1'))).toEqual(['line 3 AllowFrom', 'line 4 DenyAction', 'line 5 ControlSocket', 'line 6 ControlGroup', 'line 7 Metrics']);
    expect(msg('AllowFrom')).toMatch(/ADDRESS\/PREFIX/);
    expect(msg('ControlSocket')).toMatch(/absolute path/);
    expect(msg('Metrics')).toMatch(/needs a port/);
    expect(problems({ file: write('m.conf', '[Resolve]', 'DNS=192.0.2.1', 'Listen=127.0.0.1:9153', 'Metrics=127.0.0.1:9153'), flags: {} })[0]?.message)
      .toMatch(/also a DNS listener/);
    expect(problems({ file: write('e.conf', '[Resolve]', 'DNS=192.0.2.1', 'AllowFrom='), flags: {} })[0]?.message).toMatch(/nobody could ask/);
  });
});
