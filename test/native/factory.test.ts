// Both SocketFactory implementations on the host's loopback (sockets only): the native one
// with no device and with device "lo" (SO_BINDTODEVICE for real, on an interface every host
// has), and the plain one. Listeners adopted from native fds must receive and answer; upstream
// sockets must get random ports, connect, time out and fail like Node's own.

import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, createSocket } from '../../src/native/binding.js';
import { createNativeSocketFactory } from '../../src/net/native-factory.js';
import { createPlainSocketFactory } from '../../src/net/plain-factory.js';
import type { ExchangeSink, Family, SocketFactory } from '../../src/net/socket-factory.js';

const LOOPBACK: Record<Family, string> = { 4: '127.0.0.1', 6: '::1' };
const cleanups: Array<() => void> = [];
const IGNORE: ExchangeSink = { datagram: () => {}, error: () => {} };
v8.setFlagsFromString('--expose-gc');
/** A full garbage collection, on demand (the flag above lets a new context see gc). */
const collect = vm.runInNewContext('gc') as () => void;

afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function track<T extends dgram.Socket | net.Server | net.Socket>(s: T): T {
  cleanups.push(() => {
    if (s instanceof net.Socket) s.destroy();
    else if (s instanceof net.Server) s.close();
    else s.close();
  });
  return s;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function once<T>(emitter: NodeJS.EventEmitter, event: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    emitter.once(event, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

const factories: Array<[string, () => SocketFactory]> = [
  ['native, no device', () => createNativeSocketFactory(null)],
  ['native, device lo', () => createNativeSocketFactory('lo')],
  ['plain', () => createPlainSocketFactory()],
];

describe.each(factories)('%s', (_name, make) => {
  describe.each<Family>([4, 6])('IPv%i', (family) => {
    const address = LOOPBACK[family];

    /** One upstream exchange to port: the datagrams it got back (copies), and its socket. */
    function exchange(f: SocketFactory, port: number, query = 'ping') {
      const got: Array<{ text: string; fromPeer: boolean }> = [];
      const errors: Error[] = [];
      const sock = f.udpExchange(family, address, port, Buffer.from(query), {
        datagram: (m, fromPeer) => got.push({ text: m.toString(), fromPeer }),
        error: (e) => errors.push(e),
      });
      cleanups.push(() => sock.close());
      return { got, errors, sock };
    }

    it('UDP listener receives and replies; each upstream exchange gets a fresh random port', async () => {
      const f = make();
      const server = track(await f.udpListener({ family, address, port: 0 }));
      const sources: number[] = [];
      server.on('message', (msg, rinfo) => {
        sources.push(rinfo.port);
        server.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address);
      });
      const { port } = server.address();

      const a = exchange(f, port, 'a');
      const b = exchange(f, port, 'b');
      await until(() => a.got.length === 1 && b.got.length === 1);
      expect(a.got).toEqual([{ text: 're:a', fromPeer: true }]);
      expect(b.got).toEqual([{ text: 're:b', fromPeer: true }]);
      expect(sources).toHaveLength(2);
      expect(sources[0]).not.toBe(sources[1]);
      expect(a.errors).toEqual([]);
    });

    it('a datagram from another port reaches the exchange marked as not from the peer; close() stops delivery', async () => {
      const f = make();
      const server = track(await f.udpListener({ family, address, port: 0 }));
      const other = track(await f.udpListener({ family, address, port: 0 }));
      let client: { port: number; address: string } | null = null;
      server.on('message', (_m, rinfo) => { client = rinfo; });
      const x = exchange(f, server.address().port);
      await until(() => client !== null);
      other.send('forged', client!.port, client!.address);
      await until(() => x.got.length === 1);
      expect(x.got).toEqual([{ text: 'forged', fromPeer: false }]);
      x.sock.close();
      x.sock.close(); // idempotent
      server.send('late', client!.port, client!.address);
      await new Promise((r) => setTimeout(r, 100));
      expect(x.got).toHaveLength(1);
    });

    it('an exchange outlives a full garbage collection (the factory holds what its sockets need)', async () => {
      const f = make();
      const server = track(await f.udpListener({ family, address, port: 0 }));
      let client: { port: number; address: string } | null = null;
      server.on('message', (_m, rinfo) => { client = rinfo; });
      const x = exchange(f, server.address().port);
      await until(() => client !== null);
      collect();
      await new Promise((r) => setTimeout(r, 20)); // finalizers run after the collection
      server.send('after gc', client!.port, client!.address);
      await until(() => x.got.length === 1);
      expect(x.got).toEqual([{ text: 'after gc', fromPeer: true }]);
    });

    it("no other local socket can bind an upstream exchange's port, not even with SO_REUSEADDR", async () => {
      // Were SO_REUSEADDR on (libuv sets it on every UDP fd Node adopts), any local process
      // could bind the port too and take our upstream replies (RFC 5452 9.2).
      const f = make();
      const server = track(await f.udpListener({ family, address, port: 0 }));
      let source = 0;
      server.on('message', (_m, rinfo) => { source = rinfo.port; });
      exchange(f, server.address().port);
      await until(() => source !== 0);
      const wildcard = family === 4 ? '0.0.0.0' : '::';
      expect(() => createSocket({ family, type: 'udp', address: wildcard, port: source, reuseAddr: true, v6Only: family === 6 }))
        .toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    });

    it('TCP listener accepts; tcpConnect connects and exchanges data', async () => {
      const f = make();
      const server = track(await f.tcpListener({ family, address, port: 0 }, 16));
      server.on('connection', (c) => c.on('data', (d) => c.end(`re:${d.toString()}`)));
      const { port } = server.address() as net.AddressInfo;

      const sock = track(await f.tcpConnect(family, address, port, 2000));
      expect(sock.remotePort).toBe(port);
      sock.write('hello');
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      await once(sock, 'end');
      expect(Buffer.concat(chunks).toString()).toBe('re:hello');
    });

    it('tcpConnect rejects with ECONNREFUSED when nothing listens', async () => {
      const f = make();
      const server = await f.tcpListener({ family, address, port: 0 }, 1);
      const { port } = server.address() as net.AddressInfo;
      await new Promise((r) => server.close(r));
      await expect(f.tcpConnect(family, address, port, 2000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
  });

  it('tcpConnect times out with code ETIMEDOUT when the accept queue is full', async () => {
    // A listener with backlog 0 that nobody accepts from (a raw fd from the native helper,
    // never adopted): once its queue is full, Linux drops further SYNs, so connect() hangs
    // until our timer fires.
    const port = await freePort();
    const fd = createSocket({ family: 4, type: 'tcp', address: '127.0.0.1', port, backlog: 0 });
    cleanups.push(() => closeFd(fd));
    for (let i = 0; i < 3; i++) track(net.connect(port, '127.0.0.1').on('error', () => {}));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await expect(make().tcpConnect(4, '127.0.0.1', port, 300)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('tcpConnect rejects a host name (only IP literals, no lookup)', async () => {
    await expect(make().tcpConnect(4, 'localhost', 53, 100)).rejects.toThrow(TypeError);
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('native factory: failures', () => {
  it('a missing device rejects with ENODEV and leaks no fd', async () => {
    const f = createNativeSocketFactory(`nx${process.pid}`.slice(0, 15));
    // The factory's exchanger (one epoll fd for all upstream UDP exchanges) is made on first use.
    expect(() => f.udpExchange(6, '::1', 53, Buffer.from('q'), IGNORE)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 50; i++) {
      await expect(f.udpListener({ family: 4, address: '127.0.0.1', port: 0 })).rejects.toMatchObject({ code: 'ENODEV' });
      expect(() => f.udpExchange(6, '::1', 53, Buffer.from('q'), IGNORE)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
      await expect(f.tcpListener({ family: 6, address: '::1', port: 0 }, 8)).rejects.toMatchObject({ code: 'ENODEV' });
      await expect(f.tcpConnect(4, '127.0.0.1', 53, 100)).rejects.toMatchObject({ code: 'ENODEV' });
    }
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('a busy TCP port rejects with EADDRINUSE and a hint', async () => {
    const f = createNativeSocketFactory('lo');
    const server = track(await f.tcpListener({ family: 4, address: '127.0.0.1', port: 0 }, 8));
    const { port } = server.address() as net.AddressInfo;
    await expect(f.tcpListener({ family: 4, address: '127.0.0.1', port }, 8)).rejects.toMatchObject({
      code: 'EADDRINUSE',
      syscall: 'bind',
      hint: expect.stringContaining('ss -ltnp'),
    });
  });
});
