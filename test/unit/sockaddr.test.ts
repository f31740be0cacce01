// The sender's address read from a sockaddr (src/net/sockaddr.ts) must be the text Node's dgram
// gives (libuv's inet_ntop): AllowFrom= and the logs read it. Node's own SocketAddress, which
// formats with the same inet_ntop, is the oracle for random addresses, biased towards the zero
// runs and IPv4 forms where the rules differ.
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv6, sockaddrAddress, sockaddrPort } from '../../src/net/sockaddr.js';

function sockaddr6(words: number[], port: number, scope = 0): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(10, 0); // AF_INET6, host order
  b.writeUInt16BE(port, 2);
  words.forEach((w, i) => b.writeUInt16BE(w, 8 + 2 * i));
  b.writeUInt32LE(scope, 24);
  return b;
}

const nodeText = (words: number[]) =>
  new net.SocketAddress({ address: words.map((w) => w.toString(16)).join(':'), family: 'ipv6' }).address;

const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));

describe('sockaddr text', () => {
  it('IPv4: dotted quad and port', () => {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(2, 0);
    b.writeUInt16BE(5353, 2);
    Buffer.from([192, 0, 2, 1]).copy(b, 4);
    expect(sockaddrAddress(b, 0)).toBe('192.0.2.1');
    expect(sockaddrPort(b, 0)).toBe(5353);
  });

  it('IPv6: the sender\'s text and port, random addresses as Node writes them', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 65535 }), (w, port) => {
        const b = sockaddr6(w, port);
        expect(sockaddrAddress(b, 0)).toBe(nodeText(w));
        expect(sockaddrPort(b, 0)).toBe(port);
      }),
      { numRuns: 1000 },
    );
  });

  it('a link-local sender carries its interface index; other addresses ignore scope_id', () => {
    expect(sockaddrAddress(sockaddr6([0xfe80, 0, 0, 0, 0, 0, 0, 1], 53, 3), 0)).toBe('fe80::1%3');
    expect(net.isIP('fe80::1%3')).toBe(6);
    expect(sockaddrAddress(sockaddr6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 53, 3), 0)).toBe('2001:db8::1');
  });
});

describe('formatIpv6 writes addresses as Node does (RFC 5952)', () => {
  it.each([
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['fd000000000000000000000000000001', 'fd00::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['00000000000000000000ffff7f000001', '::ffff:127.0.0.1'],
    ['fe80000000000000a8ad3cfffe63b7a0', 'fe80::a8ad:3cff:fe63:b7a0'],
  ])('%s is %s', (hex, text) => {
    expect(formatIpv6(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('matches net.SocketAddress on random addresses, zero runs included', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const b = Buffer.alloc(16);
        words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
        const full = words.map((w) => w.toString(16)).join(':');
        expect(formatIpv6(b)).toBe(new net.SocketAddress({ address: full, family: 'ipv6' }).address);
      }),
      { numRuns: 3_000 },
    );
  });
});
