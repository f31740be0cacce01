// What a DO client gets of an upstream's DNSSEC records (src/dns/dnssec.ts, src/dns/answer.ts):
// the signatures over what we keep, the NSEC/NSEC3 proofs of denials and wildcard expansions from
// the zone the signatures name, nothing orphaned. The signatures here are filler bytes; the real
// validation runs in test/integration/dnssec-validator.test.ts.
import { describe, expect, it } from 'vitest';
import type packet from 'dns-packet';
import { buildAnswer, type TtlPolicy } from '../../src/dns/answer.js';
import { parseReply } from '../../src/dns/message.js';
import { parseQuery, type Query } from '../../src/dns/query.js';
import { replyLimit, serveAnswer } from '../../src/dns/serve.js';
import { errorForQuery } from '../../src/dns/synth.js';
import { a, cname, decode, nsec, nsec3, query, replyTo, rrsig, soa, type Rec } from '../helpers/dns-packets.js';

const policy: TtlPolicy = { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 };
const DO = { edns: { do: true } };

function q(msg: Buffer): Query {
  const v = parseQuery(msg);
  if (v.kind !== 'ok') throw new Error('bad test query');
  return v.query;
}

/** The reply as served to the querier: the kept records as "section name type[/covered]". */
function served(msg: Buffer, reply: Buffer) {
  const query = q(msg);
  const answer = buildAnswer(parseReply(reply), query.edns?.do ?? false, policy);
  const out = decode(serveAnswer(answer, query, answer.ttlSec, replyLimit(query, 'tcp', 1232), 1232));
  const show = (r: packet.Answer) =>
    `${r.name.toLowerCase()} ${r.type}${r.type === 'RRSIG' ? `/${(r.data as { typeCovered: string }).typeCovered}` : ''}`;
  return { answer, out, an: out.answers!.map(show), ns: out.authorities!.map(show) };
}
const reply = (msg: Buffer, answers: Rec[], authorities: Rec[], rcode?: 'NXDOMAIN') => replyTo(msg, { answers, authorities, rcode });

describe('positive answers with DO', () => {
  it('a wildcard answer two labels below an NSEC3 apex keeps the NSEC3 proving no closer match (RFC 5155 7.2.6)', () => {
    const m = query('a.b.wild.example.com', 'A', DO);
    const { an, ns } = served(
      m,
      reply(
        m,
        [a('a.b.wild.example.com', '192.0.2.10'), rrsig('a.b.wild.example.com', 'A', 'example.com', { labels: 3 })],
        [
          nsec3('k3g0qpg4b1u2e0eiuq1lj5pm2d6hqrbc', 'example.com', ['A', 'RRSIG']),
          rrsig('k3g0qpg4b1u2e0eiuq1lj5pm2d6hqrbc.example.com', 'NSEC3', 'example.com'),
          { type: 'NS', name: 'example.com', ttl: 300, class: 'IN', data: 'ns.example.com' },
          rrsig('example.com', 'NS', 'example.com'),
        ],
      ),
    );
    expect(an).toEqual(['a.b.wild.example.com A', 'a.b.wild.example.com RRSIG/A']);
    // The NS RRset is not kept, so neither is its signature (no orphans).
    expect(ns).toEqual(['k3g0qpg4b1u2e0eiuq1lj5pm2d6hqrbc.example.com NSEC3', 'k3g0qpg4b1u2e0eiuq1lj5pm2d6hqrbc.example.com RRSIG/NSEC3']);
  });

  it('a wildcard answer with NSEC keeps the NSEC wherever it sits in the zone (RFC 4035 3.1.3.3)', () => {
    const m = query('x.y.wild.example.com', 'A', DO);
    const { ns } = served(
      m,
      reply(
        m,
        [a('x.y.wild.example.com', '192.0.2.10'), rrsig('x.y.wild.example.com', 'A', 'example.com', { labels: 3 })],
        [nsec('www.example.com', 'zzz.example.com', ['A', 'RRSIG', 'NSEC']), rrsig('www.example.com', 'NSEC', 'example.com')],
      ),
    );
    expect(ns).toEqual(['www.example.com NSEC', 'www.example.com RRSIG/NSEC']);
  });

  it('an answer that is not a wildcard expansion carries no authority records', () => {
    const m = query('www.example.com', 'A', DO);
    const { an, ns } = served(
      m,
      reply(m, [a('www.example.com', '192.0.2.1'), rrsig('www.example.com', 'A', 'example.com')], [
        nsec('www.example.com', 'zzz.example.com', ['A', 'RRSIG', 'NSEC']),
        rrsig('www.example.com', 'NSEC', 'example.com'),
      ]),
    );
    expect(an).toEqual(['www.example.com A', 'www.example.com RRSIG/A']);
    expect(ns).toEqual([]);
  });

  it('a literal "*" owner is not an expansion, and a signer that is no ancestor widens nothing (RFC 4035 5.3.1)', () => {
    const star = query('*.wild.example.com', 'A', DO);
    const proof = [nsec('a.example.com', 'b.example.com', ['A']), rrsig('a.example.com', 'NSEC', 'example.com')];
    expect(served(star, reply(star, [a('*.wild.example.com', '192.0.2.10'), rrsig('*.wild.example.com', 'A', 'example.com')], proof)).ns).toEqual([]);
    const m = query('x.wild.example.com', 'A', DO);
    const foreign = reply(m, [a('x.wild.example.com', '192.0.2.10'), rrsig('x.wild.example.com', 'A', 'attacker.test', { labels: 2 })], [
      nsec('a.attacker.test', 'b.attacker.test', ['A']),
    ]);
    expect(served(m, foreign).ns).toEqual([]);
  });

  it('drops signatures over records it drops, keeps those over what it keeps', () => {
    const m = query('www.example.com', 'A', DO);
    const { an } = served(
      m,
      reply(
        m,
        [
          a('www.example.com', '192.0.2.1'),
          rrsig('www.example.com', 'A', 'example.com'),
          rrsig('www.example.com', 'AAAA', 'example.com'), // covers nothing we pass
          a('other.example.net', '203.0.113.1'),
          rrsig('other.example.net', 'A', 'example.net'),
        ],
        [],
      ),
    );
    expect(an).toEqual(['www.example.com A', 'www.example.com RRSIG/A']);
  });

  it('keeps the DNAME and its signature, owned above the query name (RFC 6672, RFC 4035 3.1.1)', () => {
    const m = query('a.dname.example.com', 'A', DO);
    const dname = { type: 'DNAME', name: 'dname.example.com', ttl: 300, class: 'IN', data: 'target.example.com' } as Rec;
    const { an } = served(
      m,
      reply(
        m,
        [
          dname,
          rrsig('dname.example.com', 'DNAME', 'example.com'),
          cname('a.dname.example.com', 'a.target.example.com'), // synthesized, unsigned
          a('a.target.example.com', '192.0.2.12'),
          rrsig('a.target.example.com', 'A', 'example.com'),
        ],
        [],
      ),
    );
    expect(an).toEqual([
      'dname.example.com DNAME',
      'dname.example.com RRSIG/DNAME',
      'a.dname.example.com CNAME',
      'a.target.example.com A',
      'a.target.example.com RRSIG/A',
    ]);
  });

  it('a question for RRSIG keeps every RRSIG at the name: they are the data', () => {
    const m = query('www.example.com', 'RRSIG', DO);
    const { an } = served(m, reply(m, [rrsig('www.example.com', 'A', 'example.com'), rrsig('www.example.com', 'AAAA', 'example.com')], []));
    expect(an).toEqual(['www.example.com RRSIG/A', 'www.example.com RRSIG/AAAA']);
  });

  it('rejects a malformed RRSIG over a record it would pass on (RFC 9267), ignores one it drops', () => {
    const m = query('www.example.com', 'A', DO);
    const bad = (owner: string) => {
      const r = reply(m, [a('www.example.com', '192.0.2.1'), { type: 'NULL', name: owner, ttl: 60, class: 'IN', data: Buffer.alloc(15) } as never], []);
      // Retype the NULL record (the last answer, before the OPT) as RRSIG.
      const at = r.length - 11 - 15 - 2 - 4 - 2 - 2;
      r.writeUInt16BE(46, at);
      return r;
    };
    expect(() => served(m, bad('www.example.com'))).toThrow(/rdata-shape/);
    expect(served(m, bad('other.example.net')).an).toEqual(['www.example.com A']);
  });
});

describe('negative answers with DO', () => {
  it('NXDOMAIN: SOA, its signature and the NSEC3s of its zone; an unrelated NSEC and an orphan RRSIG go (RFC 5155 7.2.2)', () => {
    const m = query('nope.example.com', 'A', DO);
    const { ns, answer } = served(
      m,
      reply(
        m,
        [],
        [
          soa('example.com', 3600, 300),
          rrsig('example.com', 'SOA', 'example.com'),
          nsec3('aaaa', 'example.com', ['A']),
          rrsig('aaaa.example.com', 'NSEC3', 'example.com'),
          nsec3('bbbb', 'example.com', ['NS', 'SOA']),
          rrsig('bbbb.example.com', 'NSEC3', 'example.com'),
          rrsig('example.com', 'NS', 'example.com'),
          nsec('x.attacker.test', 'y.attacker.test', ['A']),
        ],
        'NXDOMAIN',
      ),
    );
    expect(ns).toEqual([
      'example.com SOA',
      'example.com RRSIG/SOA',
      'aaaa.example.com NSEC3',
      'aaaa.example.com RRSIG/NSEC3',
      'bbbb.example.com NSEC3',
      'bbbb.example.com RRSIG/NSEC3',
    ]);
    expect(answer.cacheable).toBe(true);
  });

  it('a wildcard CNAME into another zone\'s NXDOMAIN keeps the proofs of both zones', () => {
    const m = query('q.wcx.one.test', 'A', DO);
    const { an, ns } = served(
      m,
      reply(
        m,
        [cname('q.wcx.one.test', 'nope.two.test'), rrsig('q.wcx.one.test', 'CNAME', 'one.test', { labels: 2 })],
        [
          nsec('*.wcx.one.test', 'zz.one.test', ['CNAME', 'RRSIG', 'NSEC']),
          rrsig('*.wcx.one.test', 'NSEC', 'one.test', { labels: 2 }),
          soa('two.test'),
          rrsig('two.test', 'SOA', 'two.test'),
          nsec('mid.two.test', 'z.two.test', ['A']),
          rrsig('mid.two.test', 'NSEC', 'two.test'),
        ],
        'NXDOMAIN',
      ),
    );
    expect(an).toEqual(['q.wcx.one.test CNAME', 'q.wcx.one.test RRSIG/CNAME']);
    expect(ns).toEqual([
      '*.wcx.one.test NSEC',
      '*.wcx.one.test RRSIG/NSEC',
      'two.test SOA',
      'two.test RRSIG/SOA',
      'mid.two.test NSEC',
      'mid.two.test RRSIG/NSEC',
    ]);
  });

  it('without DO no proof and no signature in authority, only the SOA', () => {
    const m = query('nope.example.com', 'A');
    const { ns } = served(
      m,
      reply(m, [], [soa('example.com'), rrsig('example.com', 'SOA', 'example.com'), nsec3('aaaa', 'example.com', ['A'])], 'NXDOMAIN'),
    );
    expect(ns).toEqual(['example.com SOA']);
  });
});

describe('the CD bit (RFC 4035 3.2.2)', () => {
  it('is copied from each query, whatever the upstream reply said', () => {
    const withCd = query('www.example.com', 'A', { cd: true, ...DO });
    const r = reply(withCd, [a('www.example.com', '192.0.2.1')], []);
    r[3] = r[3]! & ~0x10; // an authoritative upstream clears CD (RFC 4035 3.1.6)
    expect(served(withCd, r).out.flag_cd).toBe(true);
    const without = query('www.example.com', 'A', DO);
    const r2 = reply(without, [a('www.example.com', '192.0.2.1')], []);
    r2[3] = r2[3]! | 0x10;
    expect(served(without, r2).out.flag_cd).toBe(false);
  });

  it('is copied into our own error replies', () => {
    expect(decode(errorForQuery(q(query('www.example.com', 'A', { cd: true })), 2, 1232)).flag_cd).toBe(true);
    expect(decode(errorForQuery(q(query('www.example.com', 'A')), 2, 1232)).flag_cd).toBe(false);
  });
});
