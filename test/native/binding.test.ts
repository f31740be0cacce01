// The native helper's own contract, on the host's network namespace (sockets only, no
// configuration changes): SystemError-shaped errors with hints, TypeErrors before any fd
// exists, and no descriptor left behind on any failure path.

import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, createSocket, isNativeSocketError, nativeAddonPath, type CreateSocketOptions } from '../../src/native/binding.js';

const NO_SUCH_DEVICE = `nx${process.pid}`.slice(0, 15);
const openFds: number[] = [];

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function make(opts: CreateSocketOptions): number {
  const fd = createSocket(opts);
  openFds.push(fd);
  return fd;
}

function failure(opts: CreateSocketOptions): unknown {
  try {
    make(opts);
  } catch (e) {
    return e;
  }
  throw new Error(`createSocket(${JSON.stringify(opts)}) unexpectedly succeeded`);
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A UDP port on 127.0.0.1 that nothing is bound to right now. */
async function freeUdpPort(): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(resolve));
  return port;
}

afterEach(() => {
  for (const fd of openFds.splice(0)) closeFd(fd);
});

describe('native helper: createSocket errors', () => {
  it('loads from build/native/Release/vrf_socket.node', () => {
    expect(nativeAddonPath()).toMatch(/\/build\/native\/Release\/vrf_socket\.node$/);
  });

  it('ENODEV for a device that does not exist, with syscall, device and a hint', () => {
    const e = failure({ family: 4, type: 'udp', device: NO_SUCH_DEVICE, address: '127.0.0.1', port: 0 });
    expect(isNativeSocketError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'ENODEV', errno: -19, syscall: 'setsockopt', device: NO_SUCH_DEVICE });
    const { hint, message } = e as { hint: string; message: string };
    expect(hint).toContain(`ip link add ${NO_SUCH_DEVICE} type vrf table`);
    expect(message).toContain(hint);
  });

  it('EADDRINUSE for a second TCP listener, even with SO_REUSEADDR on both', async () => {
    const port = await freePort();
    make({ family: 4, type: 'tcp', address: '127.0.0.1', port, reuseAddr: true, backlog: 8 });
    const e = failure({ family: 4, type: 'tcp', address: '127.0.0.1', port, reuseAddr: true, backlog: 8 });
    expect(e).toMatchObject({ code: 'EADDRINUSE', errno: -98, syscall: 'bind', address: '127.0.0.1', port });
    expect((e as { hint: string }).hint).toContain('ss -ltnp');
  });

  it('UDP: SO_REUSEADDR on both sockets shares a port on Linux; without it, EADDRINUSE', async () => {
    const port = await freePort();
    make({ family: 4, type: 'udp', address: '127.0.0.1', port, reuseAddr: true });
    make({ family: 4, type: 'udp', address: '127.0.0.1', port, reuseAddr: true });
    const e = failure({ family: 4, type: 'udp', address: '127.0.0.1', port });
    expect(e).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', port });
    expect((e as { hint: string }).hint).toContain('ss -lunp');
  });

  it('IPV6_V6ONLY lets [::]:P and 0.0.0.0:P be separate sockets', async () => {
    const port = await freePort();
    make({ family: 6, type: 'udp', address: '::', port, v6Only: true });
    expect(() => make({ family: 4, type: 'udp', address: '0.0.0.0', port })).not.toThrow();
  });

  it('EADDRNOTAVAIL for an address this host does not have (TEST-NET-1)', () => {
    const e = failure({ family: 4, type: 'udp', address: '192.0.2.77', port: 0 });
    expect(e).toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'bind', address: '192.0.2.77' });
    expect((e as { hint: string }).hint).toContain('ip addr add 192.0.2.77');
  });

  it.each<[string, unknown]>([
    ['no options', undefined],
    ['family 5', { family: 5, type: 'udp' }],
    ['type sctp', { family: 4, type: 'sctp' }],
    ['device longer than IFNAMSIZ - 1', { family: 4, type: 'udp', device: 'a-very-long-device-name' }],
    ['empty device', { family: 4, type: 'udp', device: '' }],
    ['IPv6 address for family 4', { family: 4, type: 'udp', address: '::1', port: 53 }],
    ['not an address', { family: 6, type: 'udp', address: 'localhost', port: 53 }],
    ['port out of range', { family: 4, type: 'udp', address: '127.0.0.1', port: 65536 }],
    ['fractional port', { family: 4, type: 'udp', address: '127.0.0.1', port: 53.5 }],
    ['port without address', { family: 4, type: 'udp', port: 53 }],
    ['backlog on UDP', { family: 4, type: 'udp', address: '127.0.0.1', port: 0, backlog: 5 }],
    ['v6Only on IPv4', { family: 4, type: 'udp', v6Only: true }],
    ['reuseAddr not boolean', { family: 4, type: 'udp', reuseAddr: 1 }],
  ])('TypeError and no fd for bad arguments: %s', (_name, opts) => {
    const before = fdCount();
    expect(() => createSocket(opts as CreateSocketOptions)).toThrow(TypeError);
    expect(fdCount()).toBe(before);
  });

  it('closeFd closes, and a second close is EBADF', () => {
    const fd = createSocket({ family: 4, type: 'udp' });
    closeFd(fd);
    expect(() => closeFd(fd)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close' }));
  });
});

describe('native helper: no fd leak on 200 failures of each kind', () => {
  it.each<[string, () => CreateSocketOptions]>([
    ['TypeError (bad device name)', () => ({ family: 4, type: 'udp', device: 'x'.repeat(16) })],
    ['setsockopt ENODEV', () => ({ family: 6, type: 'tcp', device: NO_SUCH_DEVICE })],
    ['bind EADDRNOTAVAIL', () => ({ family: 4, type: 'udp', address: '192.0.2.77', port: 0 })],
  ])('%s', (_name, opts) => {
    const before = fdCount();
    for (let i = 0; i < 200; i++) expect(() => createSocket(opts())).toThrow();
    expect(fdCount()).toBe(before);
  });

  it('bind EADDRINUSE (TCP listener)', async () => {
    const port = await freePort();
    make({ family: 4, type: 'tcp', address: '127.0.0.1', port, backlog: 1 });
    const before = fdCount();
    for (let i = 0; i < 200; i++) {
      expect(() => createSocket({ family: 4, type: 'tcp', address: '127.0.0.1', port, backlog: 1 })).toThrow(
        expect.objectContaining({ code: 'EADDRINUSE' }),
      );
    }
    expect(fdCount()).toBe(before);
  });
});
