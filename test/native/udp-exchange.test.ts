// The upstream UDP exchanger of the native helper (native/src/udp_exchange.cc, udpExchanger) on
// the host's loopback: one socket per exchange on a random port, the query sent, replies read in
// batches with their exchange's fd and whether they came from the peer, finish() and close()
// and their fds, peer ids, argument checks, a missing device, and (in children) that an idle
// exchanger does not keep the process alive and that its methods outlive the handle safely.

import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeAddonPath, udpExchanger, type UdpExchangerHandle } from '../../src/native/binding.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

type Family = 4 | 6;
const LOOPBACK: Record<Family, string> = { 4: '127.0.0.1', 6: '::1' };
const fdCount = () => readdirSync('/proc/self/fd').length;
/** A turn of the loop: an exchanger closed by the previous test releases its epoll fd in libuv's close phase. */
const closePhase = () => new Promise((r) => setTimeout(r, 20));

interface Got { fd: number; text: string; fromPeer: boolean }

/** An exchanger that records every datagram (copied) it hands over. */
function exchanger(device: string | null = null): { x: UdpExchangerHandle; got: Got[] } {
  const got: Got[] = [];
  let x: UdpExchangerHandle | null = null;
  x = udpExchanger(device, (count) => {
    const { data, lengths, fds, fromPeer, slotBytes } = x!;
    for (let i = 0; i < count; i++) {
      got.push({ fd: fds[i]!, text: data.subarray(i * slotBytes, i * slotBytes + lengths[i]!).toString(), fromPeer: fromPeer[i] === 1 });
    }
  });
  const h = x;
  cleanups.push(() => h.close());
  return { x: h, got };
}

/** A UDP server on loopback: what it received (text and source port), and its socket. */
async function server(family: Family, answer?: (text: string) => string | null) {
  const s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  cleanups.push(() => s.close());
  const seen: Array<{ text: string; port: number; address: string }> = [];
  s.on('message', (m, r) => {
    seen.push({ text: m.toString(), port: r.port, address: r.address });
    const reply = answer?.(m.toString());
    if (reply != null) s.send(reply, r.port, r.address);
  });
  await new Promise<void>((resolve) => s.bind(0, LOOPBACK[family], resolve));
  return { sock: s, port: s.address().port, seen };
}

/** One exchange: `text` sent to address:port as the helper's query (peer(), query, open()). */
function send(x: UdpExchangerHandle, family: Family, address: string, port: number, text: string): number {
  const length = x.query.write(text);
  return x.open(x.peer(family, address, port), length);
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('udpExchanger', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: each exchange sends from its own random port, and each reply comes back on its fd, from the peer`, async () => {
      const srv = await server(family, (t) => `re:${t}`);
      const { x, got } = exchanger();
      const fds = ['a', 'b', 'c'].map((t) => send(x, family, LOOPBACK[family], srv.port, t));
      expect(new Set(fds).size).toBe(3);
      await until(() => got.length === 3);
      expect(new Set(srv.seen.map((s) => s.port)).size).toBe(3);
      expect(got.sort((a, b) => a.text.localeCompare(b.text))).toEqual([
        { fd: fds[0], text: 're:a', fromPeer: true },
        { fd: fds[1], text: 're:b', fromPeer: true },
        { fd: fds[2], text: 're:c', fromPeer: true },
      ]);
      for (const fd of fds) x.finish(fd);
    });
  }

  it('a datagram from another port is delivered with fromPeer 0; after finish() nothing more arrives and the fd is gone', async () => {
    const srv = await server(4);
    const other = await server(4);
    const { x, got } = exchanger();
    await closePhase();
    const before = fdCount();
    const fd = send(x, 4, '127.0.0.1', srv.port, 'q');
    expect(fdCount()).toBe(before + 1);
    await until(() => srv.seen.length === 1);
    const { port } = srv.seen[0]!;
    other.sock.send('forged', port, '127.0.0.1');
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ fd, text: 'forged', fromPeer: false });
    x.finish(fd);
    expect(fdCount()).toBe(before);
    srv.sock.send('late', port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(1);
    expect(() => x.finish(fd)).toThrow(TypeError); // finished already
  });

  it('a reply bigger than any EDNS size arrives whole; many datagrams on one exchange all arrive', async () => {
    const big = 'x'.repeat(60000);
    const srv = await server(4, (t) => (t === 'big' ? big : null));
    const { x, got } = exchanger();
    send(x, 4, '127.0.0.1', srv.port, 'big');
    await until(() => got.length === 1);
    expect(got[0]!.text.length).toBe(60000);
    const fd = send(x, 4, '127.0.0.1', srv.port, 'flood');
    await until(() => srv.seen.length === 2);
    for (let i = 0; i < 100; i++) srv.sock.send(`r${i}`, srv.seen[1]!.port, '127.0.0.1');
    await until(() => got.filter((g) => g.fd === fd).length === 100);
  });

  it('close() closes every open exchange and the epoll set; open() after it is EBADF; a second close is a no-op', async () => {
    const srv = await server(4);
    await closePhase();
    const before = fdCount();
    const { x } = exchanger();
    for (let i = 0; i < 5; i++) send(x, 4, '127.0.0.1', srv.port, 'q');
    expect(fdCount()).toBe(before + 6);
    x.close();
    x.close();
    await closePhase();
    expect(fdCount()).toBe(before);
    expect(() => send(x, 4, '127.0.0.1', srv.port, 'q')).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('bad arguments are TypeErrors and leave no fd; a missing device is ENODEV with its name', async () => {
    const { x } = exchanger();
    await closePhase();
    const before = fdCount();
    expect(() => x.peer(5 as 4, '127.0.0.1', 53)).toThrow(TypeError);
    expect(() => x.peer(4, '::1', 53)).toThrow(TypeError);
    expect(() => x.peer(6, '127.0.0.1', 53)).toThrow(TypeError);
    expect(() => x.peer(4, '127.0.0.1', 0)).toThrow(TypeError);
    expect(() => x.peer(4, '127.0.0.1', 70000)).toThrow(TypeError);
    expect(() => x.peer(4, 7 as unknown as string, 53)).toThrow(TypeError);
    const peer = x.peer(4, '127.0.0.1', 53);
    expect(() => x.open(peer + 1, 1)).toThrow(TypeError); // no such peer
    expect(() => x.open(-1, 1)).toThrow(TypeError);
    expect(() => x.open(0.5, 1)).toThrow(TypeError);
    expect(() => x.open(peer, 0)).toThrow(TypeError);
    expect(() => x.open(peer, x.query.length + 1)).toThrow(TypeError);
    expect(() => x.open(peer, '1' as unknown as number)).toThrow(TypeError);
    expect(() => x.finish(0)).toThrow(TypeError); // stdin: not ours
    expect(() => x.finish(-1)).toThrow(TypeError);
    expect(() => udpExchanger('', () => {})).toThrow(TypeError);
    expect(() => udpExchanger(null, 'f' as unknown as () => void)).toThrow(TypeError);
    expect(() => x.close.call({})).toThrow(TypeError);
    expect(fdCount()).toBe(before);

    const missing = `nx${process.pid}`.slice(0, 15);
    const { x: y } = exchanger(missing);
    const yBefore = fdCount();
    expect(() => send(y, 4, '127.0.0.1', 53, 'q')).toThrow(expect.objectContaining({ code: 'ENODEV', syscall: 'setsockopt', device: missing, address: '127.0.0.1', port: 53 }));
    expect(fdCount()).toBe(yBefore);
  });

  it('peer() gives the same id for the same peer, another for another; the methods need no `this`', async () => {
    const srv = await server(4, (t) => `re:${t}`);
    const { x, got } = exchanger();
    const a = x.peer(4, '127.0.0.1', srv.port);
    expect(x.peer(4, '127.0.0.1', srv.port)).toBe(a);
    expect(x.peer(4, '127.0.0.1', srv.port + 1 > 65535 ? 1 : srv.port + 1)).not.toBe(a);
    expect(x.peer(6, '::1', srv.port)).not.toBe(a);
    const { open, finish } = x;
    const fd = open(a, x.query.write('bare'));
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ fd, text: 're:bare', fromPeer: true });
    finish(fd);
    expect(() => finish(fd)).toThrow(TypeError);
  });

  it('a send that fails is thrown with syscall sendto, and the socket is closed', async () => {
    const { x } = exchanger();
    await closePhase();
    const before = fdCount();
    // Broadcast without SO_BROADCAST: refused by the kernel at once (EACCES), nothing leaves.
    expect(() => send(x, 4, '255.255.255.255', 53, 'q')).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'sendto' }));
    expect(fdCount()).toBe(before);
  });

  it('in a child: an idle exchanger does not keep the process alive; nor does one with an open exchange', () => {
    const script = `
      const { udpExchanger } = require(${JSON.stringify(nativeAddonPath())});
      const x = udpExchanger(null, () => {});
      x.open(x.peer(4, '127.0.0.1', 9), x.query.write('q'));
      globalThis.keep = x;
      setTimeout(() => console.log('timer ran'), 50);
    `;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 5000 });
    expect(out.trim()).toBe('timer ran');
  });

  it('in a child: methods kept after their handle is collected fail with EBADF (the finalizer closed it), and nothing crashes', () => {
    const script = `
      const { udpExchanger } = require(${JSON.stringify(nativeAddonPath())});
      let x = udpExchanger(null, () => {});
      const { peer, open, finish } = x;
      const id = peer(4, '127.0.0.1', 9);
      const fd = open(id, x.query.write('q'));
      x = null;
      setTimeout(() => {
        globalThis.gc();
        setTimeout(() => {
          const r = [];
          try { open(id, 1); r.push('opened'); } catch (e) { r.push(e.code ?? e.name); }
          try { finish(fd); r.push('finished'); } catch (e) { r.push(e.name); }
          console.log(r.join(' '));
        }, 20);
      }, 20);
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 5000 });
    expect(out.trim()).toBe('EBADF TypeError');
  });
});
