// The batched UDP socket of the native helper (native/src/udp_batch.cc, udpServe) on the
// host's loopback: datagrams read in batches with recvmmsg, replies sent with sendmmsg to each
// sender, late replies with sendLater, the slot size, close and its fd, the garbage collector and
// an exception thrown by onBatch (the last two in a child process).

import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, listenFdInfo, nativeAddonPath, udpServe, type UdpBatchHandle, type UdpOnBatch } from '../../src/native/binding.js';
import { sockaddrAddress, sockaddrPort } from '../../src/net/sockaddr.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

type Family = 4 | 6;
const LOOPBACK: Record<Family, string> = { 4: '127.0.0.1', 6: '::1' };

/** A bound UDP socket served by udpServe; its port. */
function serve(family: Family, onBatch: (h: UdpBatchHandle, count: number, sendErrno: number) => ReturnType<UdpOnBatch>) {
  const fd = createSocket({ family, type: 'udp', device: null, address: LOOPBACK[family], port: 0, v6Only: family === 6 });
  const port = listenFdInfo(fd).port!;
  let handle: UdpBatchHandle | null = null;
  handle = udpServe(fd, (count, sendErrno) => onBatch(handle!, count, sendErrno));
  const h = handle;
  cleanups.push(() => h.close());
  return { handle: h, fd, port };
}

function client(family: Family): dgram.Socket {
  const s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  cleanups.push(() => s.close());
  return s;
}

/** Waits for `n` messages on `s` (3 s at most). */
function receive(s: dgram.Socket, n: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`${got.length} of ${n} replies within 3 s`)), 3000);
    s.on('message', (m) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

const datagram = (h: UdpBatchHandle, i: number) => Buffer.from(h.data.subarray(i * h.slotBytes, i * h.slotBytes + h.lengths[i]!));

describe('udpServe: batches in, replies out', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: each datagram's sender is in its slot, and the returned replies reach each sender`, async () => {
      const seen: Array<{ text: string; address: string; port: number }> = [];
      const { port } = serve(family, (h, count) => {
        const replies: Buffer[] = [];
        for (let i = 0; i < count; i++) {
          const msg = datagram(h, i);
          seen.push({ text: msg.toString(), address: sockaddrAddress(h.addrs, i * h.addrBytes), port: sockaddrPort(h.addrs, i * h.addrBytes) });
          replies.push(Buffer.concat([Buffer.from('re:'), msg]));
        }
        return replies;
      });
      const clients = [client(family), client(family), client(family)];
      const replies = clients.map((c) => receive(c, 1));
      clients.forEach((c, i) => c.send(`q${i}`, port, LOOPBACK[family]));
      const got = await Promise.all(replies);
      expect(got.map((r) => r[0]!.toString())).toEqual(['re:q0', 're:q1', 're:q2']);
      expect(seen.map((s) => s.text).sort()).toEqual(['q0', 'q1', 'q2']);
      for (const [i, c] of clients.entries()) {
        expect(seen.find((s) => s.text === `q${i}`)).toMatchObject({ address: LOOPBACK[family], port: c.address().port });
      }
    });
  }

  it('a burst is read in batches of at most 64, every datagram answered once, null and non-Buffer entries unanswered', async () => {
    const counts: number[] = [];
    const { port } = serve(4, (h, count) => {
      counts.push(count);
      const replies: Array<Buffer | null> = [];
      for (let i = 0; i < count; i++) {
        const msg = datagram(h, i);
        replies.push(msg.readUInt16BE(0) % 10 === 0 ? null : msg);
      }
      return replies;
    });
    const c = client(4);
    const N = 150;
    const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 10 !== 0);
    const replies = receive(c, expected.length);
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
    for (let i = 0; i < N; i++) {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(i);
      c.send(b, port, '127.0.0.1');
    }
    const got = (await replies).map((r) => r.readUInt16BE(0)).sort((x, y) => x - y);
    expect(got).toEqual(expected);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(N);
    expect(Math.max(...counts)).toBeLessThanOrEqual(64);
    // The client's sends were queued before the server's loop turned: it read more than one at a time.
    expect(Math.max(...counts)).toBeGreaterThan(1);
  });

  it('a datagram longer than a slot arrives cut to slotBytes (MAX_QUERY_LEN + 1), so the pipeline drops it', async () => {
    const lengths: number[] = [];
    const { port, handle } = serve(4, (h, count) => {
      for (let i = 0; i < count; i++) lengths.push(h.lengths[i]!);
      return undefined;
    });
    expect(handle.slotBytes).toBe(4097);
    const c = client(4);
    c.send(Buffer.alloc(5000, 1), port, '127.0.0.1');
    c.send(Buffer.alloc(4096, 2), port, '127.0.0.1');
    await expect.poll(() => lengths.length, { timeout: 3000 }).toBe(2);
    expect(lengths).toEqual([4097, 4096]);
  });

  it('sendLater answers after the batch, many in one call, each to its copied sender; its errno is returned; bad arguments are TypeErrors', async () => {
    const later: Buffer[] = [];
    const { port, handle } = serve(6, (h, count) => {
      for (let i = 0; i < count; i++) later.push(Buffer.from(h.addrs.subarray(i * h.addrBytes, (i + 1) * h.addrBytes)));
      return undefined; // nothing now
    });
    const c = client(6);
    const d = client(6);
    const fromC = receive(c, 1);
    const fromD = receive(d, 100);
    c.send('late', port, '::1');
    await expect.poll(() => later.length, { timeout: 3000 }).toBe(1);
    for (let i = 0; i < 100; i++) d.send(`q${i}`, port, '::1');
    await expect.poll(() => later.length, { timeout: 3000 }).toBe(101);
    // More than one sendmmsg's worth (64): all arrive, each where its address says.
    const replies = later.map((_a, i) => Buffer.from(i === 0 ? 'answer' : `r${i}`));
    expect(handle.sendLater(replies, later)).toBe(0);
    expect((await fromC)[0]!.toString()).toBe('answer');
    expect(new Set((await fromD).map((m) => m.toString())).size).toBe(100);
    expect(handle.sendLater([], [])).toBe(0);
    expect(() => handle.sendLater([Buffer.from('x')], [Buffer.alloc(3)])).toThrow(TypeError);
    expect(() => handle.sendLater([Buffer.from('x')], [])).toThrow(TypeError);
    expect(() => (handle.sendLater as (...a: unknown[]) => number)(['x'], [later[0]!])).toThrow(TypeError);
    expect(() => (handle.sendLater as (...a: unknown[]) => number)(Buffer.from('x'), later[0]!)).toThrow(TypeError);
    // Port 0 is not a destination: the kernel refuses that one, the others still go, and the errno comes back.
    const zero = Buffer.from(later[0]!);
    zero.writeUInt16BE(0, 2);
    const again = receive(c, 1);
    expect(handle.sendLater([Buffer.from('x'), Buffer.from('after')], [zero, later[0]!])).toBeGreaterThan(0);
    expect((await again)[0]!.toString()).toBe('after');
  });
});

describe('udpServe: ownership and errors', () => {
  const fds = () => readdirSync('/proc/self/fd').length;

  it('close() stops the batches and closes the fd (after the loop turns); a second close is a no-op', async () => {
    let batches = 0;
    const { port, handle, fd } = serve(4, () => {
      batches++;
      return undefined;
    });
    const c = client(4);
    c.send('one', port, '127.0.0.1');
    await expect.poll(() => batches, { timeout: 3000 }).toBe(1);
    const ino = readdirSync('/proc/self/fd').includes(String(fd));
    expect(ino).toBe(true);
    handle.close();
    handle.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync('/proc/self/fd').includes(String(fd))).toBe(false);
    c.send('two', port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(batches).toBe(1);
    expect(handle.sendLater([Buffer.from('x')], [Buffer.alloc(handle.addrBytes)])).toBe(9); // EBADF
  });

  it('a TCP fd is refused with a TypeError and closed; so is a missing onBatch; a method on another object throws', async () => {
    const before = fds();
    const tcp = createSocket({ family: 4, type: 'tcp', device: null, address: '127.0.0.1', port: 0, backlog: 1 });
    expect(() => udpServe(tcp, () => undefined)).toThrow(/not a datagram socket/);
    const udp = createSocket({ family: 4, type: 'udp', device: null, address: '127.0.0.1', port: 0 });
    expect(() => udpServe(udp, 42 as unknown as UdpOnBatch)).toThrow(TypeError);
    expect(fds()).toBe(before);
    const { handle } = serve(4, () => undefined);
    expect(() => handle.close.call({})).toThrow(/not called on a UDP batch handle/);
  });

  it('in a child: handles dropped without close() are closed by the garbage collector; an exception in onBatch reaches uncaughtException', () => {
    const script = `
      const dgram = require('node:dgram');
      const fs = require('node:fs');
      const addon = require(${JSON.stringify(nativeAddonPath())});
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      const open = () => addon.createSocket({ family: 4, type: 'udp', device: null, address: '127.0.0.1', port: 0 });
      (async () => {
        const before = fds();
        for (let i = 0; i < 50; i++) addon.udpServe(open(), () => undefined);
        const opened = fds();
        for (let i = 0; i < 5 && fds() > before; i++) { global.gc(); await new Promise((r) => setTimeout(r, 50)); }
        const after = fds();
        const fd = open();
        const port = addon.listenFdInfo(fd).port;
        const h = addon.udpServe(fd, () => { throw new Error('boom from onBatch'); });
        process.on('uncaughtException', (e) => {
          console.log(JSON.stringify({ before, opened, after, caught: e.message }));
          h.close();
          process.exit(0);
        });
        const c = dgram.createSocket('udp4');
        c.send('x', port, '127.0.0.1', () => c.close());
        setTimeout(() => { console.log('no exception'); process.exit(1); }, 3000);
      })();
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const r = JSON.parse(out.trim()) as { before: number; opened: number; after: number; caught: string };
    expect(r.opened).toBe(r.before + 50);
    expect(r.after).toBe(r.before);
    expect(r.caught).toBe('boom from onBatch');
  });
});
