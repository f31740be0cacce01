// AllowFrom= networks (config/cidr.ts): parsing, host bits, matching both families and
// IPv4-mapped clients, and when loopback listeners may skip the check.
import { describe, expect, it } from 'vitest';
import { AddressMatcher, parseCidr } from '../../src/config/cidr.js';
import { cidr } from '../helpers/instance.js';

describe('parseCidr', () => {
  it('reads networks and lone addresses, clearing host bits', () => {
    expect(cidr('192.0.2.77/24').text).toBe('192.0.2.0/24');
    expect(cidr('192.0.2.1').text).toBe('192.0.2.1/32');
    expect(cidr('2001:DB8::1/32').text).toBe('2001:db8::/32');
    expect(cidr('::1').text).toBe('::1/128');
    expect(cidr('0.0.0.0/0').prefix).toBe(0);
  });
  it('refuses names, bad prefixes and scoped addresses with a message that shows the form', () => {
    for (const bad of ['localhost', '192.0.2.0/33', '2001:db8::/129', '192.0.2.0/x', 'fe80::1%eth0', '']) {
      const p = parseCidr(bad);
      expect(p.ok, bad).toBe(false);
    }
    const p = parseCidr('mgmt-net');
    expect(!p.ok && p.message).toMatch(/ADDRESS\/PREFIX/);
  });
});

describe('AddressMatcher', () => {
  const m = new AddressMatcher(['127.0.0.0/8', '::1/128', '10.53.0.0/24', '2001:db8:53::/48'].map(cidr));
  it('allows addresses inside the networks, of the right family only', () => {
    expect(m.allows('127.9.9.9')).toBe(true);
    expect(m.allows('::1')).toBe(true);
    expect(m.allows('10.53.0.200')).toBe(true);
    expect(m.allows('10.53.1.1')).toBe(false);
    expect(m.allows('2001:db8:53:ffff::1')).toBe(true);
    expect(m.allows('2001:db8:54::1')).toBe(false);
    expect(m.allows('::ffff:10.53.0.7')).toBe(true); // IPv4-mapped, from a dual-stack socket
    expect(m.allows('::ffff:192.0.2.1')).toBe(false);
    expect(m.allows('not-an-address')).toBe(false);
  });
  it('trusts loopback listeners only when every loopback address is allowed', () => {
    expect(m.allowsAllLoopback).toBe(true);
    expect(new AddressMatcher(['127.0.0.1/32', '::1/128'].map(cidr)).allowsAllLoopback).toBe(false);
    expect(new AddressMatcher(['0.0.0.0/0', '::/0'].map(cidr)).allowsAllLoopback).toBe(true);
    expect(new AddressMatcher(['10.0.0.0/8'].map(cidr)).allowsAllLoopback).toBe(false);
  });
});
