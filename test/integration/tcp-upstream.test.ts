// Upstream TCP exchanges on real loopback sockets (upstream/tcp.ts, tcp-connection.ts) against
// a scripted server: one connection per server, reused and pipelined, replies matched by ID and
// question in any order (RFC 7766 sections 6.2.1 and 7), the idle close (6.2.3), a server that
// closes a reused connection under a query, timeouts and bad replies that touch only their own
// query, a connection broken mid-frame, and IDs made unique per connection. Both socket factories.

import { afterEach, describe, expect, it } from 'vitest';
import { createNativeSocketFactory } from '../../src/net/native-factory.js';
import { createPlainSocketFactory } from '../../src/net/plain-factory.js';
import type { SocketFactory } from '../../src/net/socket-factory.js';
import { toUpstreamServer } from '../../src/upstream/server.js';
import { createTcpExchange } from '../../src/upstream/tcp.js';
import { startFakeUpstream, type FakeUpstream, type Script } from '../helpers/fake-upstream.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fake(script: Script): Promise<FakeUpstream> {
  const f = await startFakeUpstream(script);
  cleanups.push(() => f.close());
  return f;
}

const nameOf = (m: Buffer) => decode(m).questions![0]!.name;
const answer = (q: Buffer) => replyTo(q, { answers: [a(nameOf(q), '192.0.2.7')] });

/** A query without EDNS, so its question is everything after the header. */
const ask = (name: string, id = Math.floor(Math.random() * 0x10000)) => {
  const q = query(name, 'A', { id });
  return { q, question: q.subarray(12) };
};

describe.each<[string, () => SocketFactory]>([
  ['plain', () => createPlainSocketFactory()],
  ['native', () => createNativeSocketFactory(null)],
])('TCP upstream (%s sockets)', (_name, make) => {
  const setup = (up: FakeUpstream, idleTimeoutMs = 5000) => ({
    exchange: createTcpExchange(make(), { idleTimeoutMs }),
    server: toUpstreamServer({ family: 4, address: up.address, port: up.port }),
  });

  it('20 concurrent queries share one connection and each gets its own reply, answered in reverse order', async () => {
    const held: Array<() => void> = [];
    const up = await fake((q, _t, r) => {
      held.push(() => r.reply(answer(q)));
      if (held.length === 20) for (const send of held.reverse()) send();
    });
    const { exchange, server } = setup(up);
    const names = Array.from({ length: 20 }, (_, i) => `p${i}.example.test`);
    const replies = await Promise.all(names.map((n) => { const { q, question } = ask(n); return exchange(server, q, question, 3000); }));
    expect(replies.map(nameOf)).toEqual(names);
    expect(up.tcp.accepted).toBe(1);
  });

  it('queries one after another reuse the connection; after the idle timeout a new one is made', async () => {
    const up = await fake((q, _t, r) => r.reply(answer(q)));
    const { exchange, server } = setup(up, 150);
    for (let i = 0; i < 5; i++) {
      const { q, question } = ask(`s${i}.example.test`);
      await exchange(server, q, question, 3000);
    }
    expect(up.tcp.accepted).toBe(1);
    await expect.poll(() => up.tcp.open.size, { timeout: 3000 }).toBe(0); // we closed it when idle
    const { q, question } = ask('after.example.test');
    expect(nameOf(await exchange(server, q, question, 3000))).toBe('after.example.test');
    expect(up.tcp.accepted).toBe(2);
  });

  it('a server that closes a reused connection under a query: the query is asked again on a new connection', async () => {
    let seen = 0;
    const up = await fake((q, _t, r) => {
      seen++;
      if (seen === 2) {
        for (const c of up.tcp.open) c.destroy(); // the idle close, racing our second query
        return;
      }
      r.reply(answer(q));
    });
    const { exchange, server } = setup(up);
    const first = ask('one.example.test');
    await exchange(server, first.q, first.question, 3000);
    const second = ask('two.example.test');
    expect(nameOf(await exchange(server, second.q, second.question, 3000))).toBe('two.example.test');
    expect(up.tcp.accepted).toBe(2);
  });

  it('a query that times out leaves the connection to the others; its late reply is dropped', async () => {
    let late: (() => void) | null = null;
    const up = await fake((q, _t, r) => {
      if (nameOf(q) === 'slow.example.test') late = () => r.reply(answer(q));
      else r.reply(answer(q));
    });
    const { exchange, server } = setup(up);
    const slow = ask('slow.example.test');
    const fast = ask('fast.example.test');
    const slowReply = exchange(server, slow.q, slow.question, 150);
    expect(nameOf(await exchange(server, fast.q, fast.question, 3000))).toBe('fast.example.test');
    await expect(slowReply).rejects.toMatchObject({ code: 'VR_ERR_UPSTREAM_TIMEOUT' });
    late!();
    const next = ask('next.example.test');
    expect(nameOf(await exchange(server, next.q, next.question, 3000))).toBe('next.example.test');
    expect(up.tcp.accepted).toBe(1);
  });

  it("a reply with a waiting query's ID but another question fails that query only", async () => {
    const up = await fake((q, _t, r) => {
      if (nameOf(q) === 'bad.example.test') r.reply(replyTo(q, { qname: 'other.example.test', answers: [a('other.example.test', '203.0.113.1')] }));
      else setTimeout(() => r.reply(answer(q)), 50);
    });
    const { exchange, server } = setup(up);
    const good = ask('good.example.test');
    const bad = ask('bad.example.test');
    const goodReply = exchange(server, good.q, good.question, 3000);
    await expect(exchange(server, bad.q, bad.question, 3000)).rejects.toMatchObject({ code: 'VR_ERR_UPSTREAM_BAD_REPLY' });
    expect(nameOf(await goodReply)).toBe('good.example.test');
    expect(up.tcp.accepted).toBe(1);
  });

  it('a connection that breaks mid-frame fails every waiting query; the next query connects again', async () => {
    const up = await fake((q, _t, r) => {
      if (nameOf(q) === 'cut.example.test') {
        for (const c of up.tcp.open) c.end(Buffer.from([0x01, 0x00, 0xab])); // 256 bytes announced, 1 sent
        return;
      }
      if (nameOf(q) === 'waits.example.test') return;
      r.reply(answer(q));
    });
    const { exchange, server } = setup(up);
    const waits = ask('waits.example.test');
    const waiting = exchange(server, waits.q, waits.question, 3000);
    const cut = ask('cut.example.test');
    await expect(exchange(server, cut.q, cut.question, 3000)).rejects.toMatchObject({ code: 'VR_ERR_UPSTREAM_TCP' });
    await expect(waiting).rejects.toMatchObject({ code: 'VR_ERR_UPSTREAM_TCP' });
    const next = ask('next.example.test');
    expect(nameOf(await exchange(server, next.q, next.question, 3000))).toBe('next.example.test');
    expect(up.tcp.accepted).toBe(2);
  });

  it('two waiting queries with the same ID: the second gets another random ID, both are answered', async () => {
    const ids: number[] = [];
    const up = await fake((q, _t, r) => {
      ids.push(q.readUInt16BE(0));
      setTimeout(() => r.reply(answer(q)), 30);
    });
    const { exchange, server } = setup(up);
    const x = ask('x.example.test', 4242);
    const y = ask('y.example.test', 4242);
    const [rx, ry] = await Promise.all([exchange(server, x.q, x.question, 3000), exchange(server, y.q, y.question, 3000)]);
    expect([nameOf(rx), nameOf(ry)]).toEqual(['x.example.test', 'y.example.test']);
    expect(ids[0]).toBe(4242);
    expect(ids[1]).not.toBe(4242);
    expect(x.q.readUInt16BE(0)).toBe(4242); // the caller's buffer is not changed
    expect(y.q.readUInt16BE(0)).toBe(4242);
  });

  it('a refused connection fails every query waiting for it with VR_ERR_UPSTREAM_TCP', async () => {
    const up = await startFakeUpstream(() => {}); // closed here, not by afterEach
    const { exchange, server } = setup(up);
    await up.close();
    const qs = [ask('r1.example.test'), ask('r2.example.test')];
    const results = await Promise.allSettled(qs.map(({ q, question }) => exchange(server, q, question, 1000)));
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'VR_ERR_UPSTREAM_TCP' } });
  });
});
