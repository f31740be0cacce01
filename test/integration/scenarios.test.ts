// Scenario tests in the spirit of Unbound's replay files, on real loopback sockets: a client
// query, a scripted upstream (good, forged, truncated, slow, unrelated records), the answer the
// client must get, and what the cache must hold afterwards (seen through a repeat of the query:
// answered without a new upstream query, or not).
import { afterEach, describe, expect, it } from 'vitest';
import packet from 'dns-packet';
import type { App } from '../../src/app.js';
import { startFakeUpstream, type Script } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { a, cname, decode, nsec3, query, replyTo, rrsig, soa } from '../helpers/dns-packets.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Scenario {
  name: string;
  qname: string;
  qtype?: packet.RecordType;
  /** DO and CD of the client's query (EDNS is always on). */
  dnssec?: { do?: boolean; cd?: boolean };
  upstream: Script;
  rcode: string;
  answers: string[];
  /** Upstream queries seen after the query and an immediate repeat (1: the repeat was a cache hit). */
  upstreamQueriesAfterRepeat: number;
  /** Run on the first reply and on the repeat. */
  check?: (reply: packet.Packet, app: App) => void;
}

const ans = (ip: string) => (q: Buffer) => replyTo(q, { answers: [a(decode(q).questions![0]!.name, ip)] });
const qnameOf = (q: Buffer) => decode(q).questions![0]!.name;

const scenarios: Scenario[] = [
  {
    name: 'a flood of forged replies races the real one: the real one wins, none is cached (RFC 5452)',
    qname: 'flood.example.test',
    upstream: (q, _t, r) => {
      const id = q.readUInt16BE(0);
      // Interleaved, 160 datagrams: within the default 208 KiB receive buffer, so few are dropped.
      for (let i = 1; i <= 70; i++) {
        r.replyFromOtherPort(ans('203.0.113.1')(q));
        r.reply(replyTo(q, { id: (id + i) & 0xffff, answers: [a(qnameOf(q), '203.0.113.2')] }));
        if (i % 7 === 0) r.reply(replyTo(q, { qname: `x${i}.example.test`, answers: [a(`x${i}.example.test`, '203.0.113.3')] }));
      }
      setTimeout(() => r.reply(ans('192.0.2.1')(q)), 40);
    },
    rcode: 'NOERROR',
    answers: ['192.0.2.1'],
    upstreamQueriesAfterRepeat: 1,
    check: (_r, app) => {
      // The kernel drops part of a burst past the socket's receive buffer: counts are bounds.
      expect(app.stats.spoofedReplies).toBeGreaterThan(10);
      expect(app.stats.spoofedReplies).toBeLessThanOrEqual(70);
      expect(app.stats.mismatchedReplies).toBeGreaterThan(10);
      expect(app.stats.mismatchedReplies).toBeLessThanOrEqual(80);
    },
  },
  {
    name: 'records unrelated to the question are dropped from every section, and from the cache',
    qname: 'www.example.test',
    upstream: (q, _t, r) =>
      r.reply(
        replyTo(q, {
          answers: [cname('www.example.test', 'web.example.test'), a('web.example.test', '192.0.2.2'), a('bank.example.com', '203.0.113.4')],
          authorities: [{ type: 'NS', name: 'example.com', ttl: 300, class: 'IN', data: 'ns.attacker.test' }],
          additionals: [a('ns.attacker.test', '203.0.113.5')],
        }),
      ),
    rcode: 'NOERROR',
    answers: ['web.example.test', '192.0.2.2'],
    upstreamQueriesAfterRepeat: 1,
    check: (r) => {
      expect(r.authorities).toHaveLength(0);
      expect(r.additionals!.filter((x) => x.type !== 'OPT')).toHaveLength(0);
    },
  },
  {
    name: 'a negative answer whose SOA is out of bailiwick is served but not cached (RFC 2308 5)',
    qname: 'nx.example.test',
    upstream: (q, _t, r) => r.reply(replyTo(q, { rcode: 'NXDOMAIN', authorities: [soa('attacker.test', 86400, 86400)] })),
    rcode: 'NXDOMAIN',
    answers: [],
    upstreamQueriesAfterRepeat: 2,
  },
  {
    name: 'a negative answer without SOA is served but not cached (RFC 2308 5)',
    qname: 'nx2.example.test',
    upstream: (q, _t, r) => r.reply(replyTo(q, { rcode: 'NXDOMAIN' })),
    rcode: 'NXDOMAIN',
    answers: [],
    upstreamQueriesAfterRepeat: 2,
  },
  {
    name: 'SERVFAIL from the only upstream: SERVFAIL to the client, remembered briefly (RFC 9520)',
    qname: 'sf.example.test',
    upstream: (q, _t, r) => r.reply(replyTo(q, { rcode: 'SERVFAIL' })),
    rcode: 'SERVFAIL',
    answers: [],
    upstreamQueriesAfterRepeat: 2, // two passes for the first query, none for the repeat
  },
  {
    name: 'REFUSED from the only upstream: SERVFAIL to the client, remembered briefly (RFC 9520)',
    qname: 'ref.example.test',
    upstream: (q, _t, r) => r.reply(replyTo(q, { rcode: 'REFUSED' })),
    rcode: 'SERVFAIL',
    answers: [],
    upstreamQueriesAfterRepeat: 2,
  },
  {
    name: 'an upstream slower than UpstreamTimeoutMs: SERVFAIL within QueryTimeoutMs, its late reply ignored',
    qname: 'slow.example.test',
    upstream: (q, _t, r) => setTimeout(() => r.reply(ans('192.0.2.3')(q)), 500),
    rcode: 'SERVFAIL',
    answers: [],
    upstreamQueriesAfterRepeat: 2,
  },
  {
    name: 'TC=1 over UDP: the TCP answer is served and cached, the truncated one never (RFC 2181 9)',
    qname: 'tc.example.test',
    upstream: (q, t, r) => r.reply(t === 'udp' ? replyTo(q, { tc: true, answers: [a(qnameOf(q), '203.0.113.6')] }) : ans('192.0.2.4')(q)),
    rcode: 'NOERROR',
    answers: ['192.0.2.4'],
    upstreamQueriesAfterRepeat: 2, // udp + tcp, then a cache hit
  },
  {
    name: 'an unknown RR type passes through and is cached transparently (RFC 3597)',
    qname: 'unknown.example.test',
    qtype: 'NULL',
    upstream: (q, _t, r) =>
      r.reply(replyTo(q, { answers: [{ type: 'NULL', name: qnameOf(q), ttl: 60, class: 'IN', data: Buffer.from([0xc0, 0x0c, 1]) } as never] })),
    rcode: 'NOERROR',
    answers: ['c00c01'],
    upstreamQueriesAfterRepeat: 1,
  },
  {
    name: 'a wildcard answer to a DO client keeps the NSEC3 proof and its signature, drops the NS and its signature (RFC 5155 7.2.6)',
    qname: 'a.b.wild.example.test',
    dnssec: { do: true },
    upstream: (q, _t, r) =>
      r.reply(
        replyTo(q, {
          answers: [a(qnameOf(q), '192.0.2.10'), rrsig(qnameOf(q), 'A', 'example.test', { labels: 3 })],
          authorities: [
            nsec3('k3g0qpg4b1u2e0eiuq1lj5pm2d6hqrbc', 'example.test', ['A', 'RRSIG']),
            rrsig('k3g0qpg4b1u2e0eiuq1lj5pm2d6hqrbc.example.test', 'NSEC3', 'example.test'),
            { type: 'NS', name: 'example.test', ttl: 300, class: 'IN', data: 'ns.example.test' },
            rrsig('example.test', 'NS', 'example.test'),
          ],
        }),
      ),
    rcode: 'NOERROR',
    answers: ['192.0.2.10', 'RRSIG/A'],
    upstreamQueriesAfterRepeat: 1,
    check: (r) => expect(r.authorities!.map((x) => `${x.type} ${dataOf(x)}`)).toEqual(['NSEC3 [object Object]', 'RRSIG RRSIG/NSEC3']),
  },
  {
    name: 'CD=1 from the client comes back set, from upstream and from the cache, though the upstream clears it (RFC 4035 3.2.2)',
    qname: 'cd.example.test',
    dnssec: { do: true, cd: true },
    upstream: (q, _t, r) => r.reply(ans('192.0.2.5')(q)), // replyTo sets RD and RA only
    rcode: 'NOERROR',
    answers: ['192.0.2.5'],
    upstreamQueriesAfterRepeat: 1,
    check: (r) => expect(r.flag_cd).toBe(true),
  },
];

async function ask(port: number, msg: Buffer): Promise<packet.Packet> {
  const reply = await udpAsk('127.0.0.1', port, msg, 3000);
  if (!reply) throw new Error('no reply within 3 s');
  return decode(reply);
}
const dataOf = (rr: packet.Answer) =>
  rr.type === 'RRSIG' ? `RRSIG/${rr.data.typeCovered}` : Buffer.isBuffer(rr.data) ? rr.data.toString('hex') : String(rr.data);

describe('scenarios: client query → scripted upstream → answer and cache', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_n, s) => {
    const up = await startFakeUpstream(s.upstream);
    cleanups.push(() => up.close());
    const port = await freePort();
    const app = await startInstance(
      testConfig({ listen: [{ family: 4, address: '127.0.0.1', port }], upstreams: [{ family: 4, address: '127.0.0.1', port: up.port }] }),
    );
    cleanups.push(() => app.close());
    const msg = query(s.qname, s.qtype ?? 'A', { cd: s.dnssec?.cd, edns: { udpSize: 1232, do: s.dnssec?.do } });
    const first = await ask(port, msg);
    expect(first.rcode).toBe(s.rcode);
    expect(first.id).toBe(msg.readUInt16BE(0));
    expect(first.answers!.map(dataOf)).toEqual(s.answers);
    s.check?.(first, app);
    const repeat = await ask(port, msg);
    expect(repeat.rcode).toBe(s.rcode);
    expect(repeat.answers!.map(dataOf)).toEqual(s.answers);
    s.check?.(repeat, app);
    expect(up.queries.length).toBe(s.upstreamQueriesAfterRepeat);
  });
});
