// A whole instance whose UDP listeners are served in batches (the native helper's sockets,
// server/udp-batch.ts), on real loopback sockets with a scripted upstream: hits and misses,
// a burst of distinct misses whose answers come back after later batches reused the slots
// (each reply must still carry its own query's ID and question, to its own sender), AllowFrom=
// reading the sender from the slot, and a datagram too long for a slot.

import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { cidr, freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { a, decode, query, rcodeOf, replyTo } from '../helpers/dns-packets.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The upstream answers NAME A with 192.0.2.N, N from the first label ("q17.test" -> .17), after delayMs. */
async function upstream(delayMs = 0): Promise<FakeUpstream> {
  const up = await startFakeUpstream((q, _t, r) => {
    const name = decode(q).questions![0]!.name;
    const n = Number(/^q(\d+)\./.exec(name)?.[1] ?? 1) % 250;
    setTimeout(() => r.reply(replyTo(q, { answers: [a(name, `192.0.2.${n}`)] })), delayMs);
  });
  cleanups.push(() => up.close());
  return up;
}

async function instance(up: FakeUpstream, allowFrom?: string[]) {
  const port = await freePort('127.0.0.1');
  const base = testConfig({ listen: [{ family: 4, address: '127.0.0.1', port }], upstreams: [{ family: 4, address: up.address, port: up.port }] });
  // Room for the burst's 200 misses in flight (the test default of 64 would answer SERVFAIL).
  const config = { ...base, upstream: { ...base.upstream, maxInflight: 1000 } };
  const app = await startInstance(allowFrom ? { ...config, access: { ...config.access, allowFrom: allowFrom.map(cidr) } } : config, { native: true });
  cleanups.push(() => app.close());
  return { app, port };
}

describe('batched UDP listener: a whole instance', () => {
  it('forwards a miss and answers the repeat from the cache', async () => {
    const up = await upstream();
    const { port, app } = await instance(up);
    expect(app.listenerLabels.some((l) => l.startsWith('udp 127.0.0.1'))).toBe(true);
    const first = decode((await udpAsk('127.0.0.1', port, query('q7.example.test', 'A', { id: 7 })))!);
    const again = decode((await udpAsk('127.0.0.1', port, query('q7.example.test', 'A', { id: 8 })))!);
    expect([first.id, again.id]).toEqual([7, 8]);
    expect(again.answers![0]).toMatchObject({ name: 'q7.example.test', data: '192.0.2.7' });
    expect(up.queries).toHaveLength(1);
  });

  it('200 distinct misses sent at once from 4 clients, answered after later batches: each reply is its own query\'s, to its sender', async () => {
    const up = await upstream(30);
    const { port } = await instance(up);
    const clients = Array.from({ length: 4 }, () => dgram.createSocket('udp4'));
    cleanups.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map((c) => new Promise<void>((r) => c.bind(0, '127.0.0.1', r))));
    const N = 200;
    const got = new Map<number, { client: number; name: string; data: string; id: number }>();
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${got.size} of ${N} replies within 10 s`)), 10_000);
      clients.forEach((c, ci) =>
        c.on('message', (m) => {
          const p = decode(m);
          got.set(p.id!, { client: ci, name: p.questions![0]!.name, data: String(p.answers?.[0]?.data), id: p.id! });
          if (got.size === N) {
            clearTimeout(timer);
            resolve();
          }
        }),
      );
    });
    for (let i = 0; i < N; i++) clients[i % 4]!.send(query(`q${i}.burst.test`, 'A', { id: 1000 + i }), port, '127.0.0.1');
    await done;
    for (let i = 0; i < N; i++) {
      expect(got.get(1000 + i), `query ${i}`).toEqual({ client: i % 4, name: `q${i}.burst.test`, data: `192.0.2.${i % 250}`, id: 1000 + i });
    }
    expect(up.queries).toHaveLength(N);
  });

  it('AllowFrom= without every loopback address: the sender is read from the slot, 127.0.0.2 answered, 127.0.0.1 refused', async () => {
    const up = await upstream();
    const { port } = await instance(up, ['127.0.0.2/32']);
    const from = async (address: string) => {
      const s = dgram.createSocket('udp4');
      cleanups.push(() => s.close());
      await new Promise<void>((r) => s.bind(0, address, r));
      const reply = new Promise<Buffer>((r) => s.once('message', r));
      s.send(query('q1.allow.test', 'A'), port, '127.0.0.1');
      return reply;
    };
    expect(rcodeOf(await from('127.0.0.2'))).toBe(0);
    expect(rcodeOf(await from('127.0.0.1'))).toBe(5); // REFUSED
  });

  it('a datagram longer than MAX_QUERY_LEN is dropped and counted; the next query is answered', async () => {
    const up = await upstream();
    const { port, app } = await instance(up);
    const big = Buffer.concat([query('q3.big.test', 'A'), Buffer.alloc(5000)]);
    expect(await udpAsk('127.0.0.1', port, big, 300)).toBeNull();
    expect(rcodeOf((await udpAsk('127.0.0.1', port, query('q3.big.test', 'A')))!)).toBe(0);
    expect(app.stats.dropped).toBe(1);
  });
});
