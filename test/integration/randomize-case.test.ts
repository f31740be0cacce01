// RandomizeCase= (0x20, draft-vixie-dnsext-dns0x20) with real sockets and scripted upstreams:
// names leave in a random case and the client still gets its own spelling; a forged reply that
// differs in case alone is ignored; a server that lowercases names is noticed and asked again
// without, and then left alone.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type Script } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { randomizeCase } from '../../src/dns/synth.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The name of a wire message's question, with its case as sent. */
const qname = (m: Buffer) => decode(m).questions![0]!.name;

async function instance(script: Script) {
  const up = await startFakeUpstream(script);
  cleanups.push(() => up.close());
  const port = await freePort('127.0.0.1');
  const app = await startInstance(testConfig({
    listen: [{ family: 4, address: '127.0.0.1', port }],
    upstreams: [{ family: 4, address: up.address, port: up.port }],
    randomizeCase: true,
  }));
  cleanups.push(() => app.close());
  const ask = async (name: string) => decode((await udpAsk('127.0.0.1', port, query(name)))!);
  return { up, app, ask };
}

describe('RandomizeCase=yes', () => {
  it('sends names in a random case; the client gets the reply with its own spelling', async () => {
    const { up, ask } = await instance((q, _t, r) => r.reply(replyTo(q, { answers: [a(qname(q), '192.0.2.1')] })));
    for (let i = 0; i < 8; i++) {
      const reply = await ask(`case${i}.example.test`);
      expect(reply.questions![0]!.name).toBe(`case${i}.example.test`);
      expect(reply.answers![0]).toMatchObject({ name: `case${i}.example.test`, data: '192.0.2.1' });
    }
    const sent = up.queries.map((q) => qname(q.msg));
    expect(sent.map((n) => n.toLowerCase())).toEqual(Array.from({ length: 8 }, (_, i) => `case${i}.example.test`));
    expect(sent.some((n) => /[A-Z]/.test(n))).toBe(true); // 8 names, ~100 letters: all-lowercase by chance is 2^-100
  });

  it('ignores a forged reply that differs in letter case alone, and takes the real one', async () => {
    // Every letter's case flipped: the right ID, port and name, the wrong case.
    const flip = (n: string) => [...n].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    const { app, ask } = await instance((q, _t, r) => {
      const forged = flip(qname(q));
      r.reply(replyTo(q, { qname: forged, answers: [a(forged, '203.0.113.66')] }));
      setTimeout(() => r.reply(replyTo(q, { answers: [a(qname(q), '192.0.2.7')] })), 30);
    });
    const reply = await ask('forgery.example.test');
    expect(reply.answers![0]).toMatchObject({ data: '192.0.2.7' });
    expect(app.stats.mismatchedReplies).toBe(1);
  });

  it('a server that lowercases names: asked again at once in the client case, then without a random case', async () => {
    const { up, ask } = await instance((q, _t, r) => {
      const lower = qname(q).toLowerCase();
      r.reply(replyTo(q, { qname: lower, answers: [a(lower, '192.0.2.9')] }));
    });
    const started = Date.now();
    const first = await ask('lower.example.test');
    expect(first.answers![0]).toMatchObject({ data: '192.0.2.9' });
    expect(Date.now() - started).toBeLessThan(1500); // one attempt's wait (300 ms here), not the query timeout
    const second = await ask('lower2.example.test');
    expect(second.answers![0]).toMatchObject({ data: '192.0.2.9' });
    const sent = up.queries.map((q) => qname(q.msg));
    expect(sent.at(-1)).toBe('lower2.example.test'); // asked in the client's case from now on
  });
});

describe('randomizeCase', () => {
  it('changes letters only: length octets, digits and hyphens stay', () => {
    const msg = Buffer.from([3, 0x61, 0x2d, 0x31, 4, 0x74, 0x65, 0x73, 0x74, 0]);
    for (let i = 0; i < 50; i++) {
      const m = Buffer.from(msg);
      randomizeCase(m, 0, m.length);
      expect([m[0], m[2], m[3], m[4], m[9]]).toEqual([3, 0x2d, 0x31, 4, 0]);
      expect(m.toString('latin1').toLowerCase()).toBe(msg.toString('latin1'));
    }
  });
});
