import { describe, expect, it } from 'vitest';
import { formatEndpoint, isLoopback, isUnspecified, parseEndpoint, sameEndpoint } from '../../src/config/endpoint.js';
import type { Endpoint } from '../../src/config/types.js';

function ok(text: string, port = 53): Endpoint {
  const p = parseEndpoint(text, port);
  if (!p.ok) throw new Error(`expected ${text} to parse: ${p.message}`);
  return p.value;
}
function err(text: string): string {
  const p = parseEndpoint(text, 53);
  if (p.ok) throw new Error(`expected ${text} to be rejected`);
  return p.message;
}

describe('parseEndpoint', () => {
  it('takes IPv4 with and without a port', () => {
    expect(ok('192.0.2.53')).toEqual({ family: 4, address: '192.0.2.53', port: 53 });
    expect(ok('192.0.2.53', 5353)).toEqual({ family: 4, address: '192.0.2.53', port: 5353 });
    expect(ok('192.0.2.53:5300')).toEqual({ family: 4, address: '192.0.2.53', port: 5300 });
  });

  it('takes bracketed IPv6 with and without a port, and bare IPv6 without one', () => {
    expect(ok('[2001:db8::53]:5300')).toEqual({ family: 6, address: '2001:db8::53', port: 5300 });
    expect(ok('[2001:db8::53]')).toEqual({ family: 6, address: '2001:db8::53', port: 53 });
    expect(ok('::1', 8053)).toEqual({ family: 6, address: '::1', port: 8053 });
    expect(ok('  ::1  ').address).toBe('::1');
  });

  it('reads "::1:53" as the IPv6 address ::1:53, not as a port (brackets give ports)', () => {
    expect(ok('::1:53')).toEqual({ family: 6, address: '::1:53', port: 53 });
  });

  it('rejects host names, saying addresses only', () => {
    expect(err('dns.google')).toMatch(/not an IP address; addresses only/);
    expect(err('dns.google:53')).toMatch(/"dns.google" is not an IP address/);
    expect(err('localhost')).toMatch(/no host names/);
  });

  it('rejects scoped IPv6 addresses with a clear reason', () => {
    expect(err('fe80::1%eth0')).toMatch(/scoped IPv6 addresses \(%eth0\) are not supported/);
    expect(err('[fe80::1%mgmt]:53')).toMatch(/scoped/);
  });

  it('rejects bad ports, empty text, broken brackets and bracketed IPv4', () => {
    expect(err('192.0.2.1:0')).toMatch(/port must be a number from 1 to 65535/);
    expect(err('192.0.2.1:65536')).toMatch(/port must be/);
    expect(err('192.0.2.1:')).toMatch(/port must be/);
    expect(err('192.0.2.1:dns')).toMatch(/port must be/);
    expect(err('[::1]:x')).toMatch(/port must be/);
    expect(err('')).toMatch(/empty address/);
    expect(err('[::1')).toMatch(/missing "]"/);
    expect(err('[::1]53')).toMatch(/expected ":PORT"/);
    expect(err('[192.0.2.1]:53')).toMatch(/brackets are for IPv6/);
    expect(err('[dns.google]')).toMatch(/not an IP address/);
    expect(err('256.1.1.1')).toMatch(/not an IP address/);
    expect(err(':53')).toMatch(/not an IP address/);
  });
});

describe('endpoint helpers', () => {
  it('formats IPv6 with brackets', () => {
    expect(formatEndpoint(ok('[::1]:5353'))).toBe('[::1]:5353');
    expect(formatEndpoint(ok('192.0.2.1'))).toBe('192.0.2.1:53');
  });
  it('compares IPv6 addresses whatever their spelling', () => {
    expect(sameEndpoint(ok('::1'), ok('0:0::0001'))).toBe(true);
    expect(sameEndpoint(ok('::1'), ok('[::1]:54'))).toBe(false);
    expect(sameEndpoint(ok('127.0.0.1'), ok('::1'))).toBe(false);
  });
  it('knows wildcard and loopback addresses', () => {
    expect(isUnspecified(ok('0.0.0.0'))).toBe(true);
    expect(isUnspecified(ok('::'))).toBe(true);
    expect(isUnspecified(ok('127.0.0.1'))).toBe(false);
    expect(isLoopback(ok('127.0.0.53'))).toBe(true);
    expect(isLoopback(ok('0::1'))).toBe(true);
    expect(isLoopback(ok('192.0.2.1'))).toBe(false);
  });
});
