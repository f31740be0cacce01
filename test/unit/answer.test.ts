import { describe, expect, it } from 'vitest';
import packet from 'dns-packet';
import { buildAnswer, packAnswer, packedAnswerLength, storedLength, type TtlPolicy } from '../../src/dns/answer.js';
import { parseReply } from '../../src/dns/message.js';
import { parseQuery, type Query } from '../../src/dns/query.js';
import { replyLimit, serveAnswer, servePacked } from '../../src/dns/serve.js';
import { a, cname, decode, query, replyTo, soa, txt } from '../helpers/dns-packets.js';

const policy: TtlPolicy = { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 };

function q(msg: Buffer): Query {
  const v = parseQuery(msg);
  if (v.kind !== 'ok') throw new Error(`bad test query: ${JSON.stringify(v)}`);
  return v.query;
}
function answerFor(msg: Buffer, reply: Buffer, p: TtlPolicy = policy) {
  const query = q(msg);
  return { query, answer: buildAnswer(parseReply(reply), query.edns?.do ?? false, p) };
}
function serve(msg: Buffer, reply: Buffer, remaining?: number) {
  const { query, answer } = answerFor(msg, reply);
  const out = serveAnswer(answer, query, remaining ?? answer.ttlSec, replyLimit(query, 'udp', 1232), 1232);
  return { answer, out: decode(out), raw: out };
}

describe('buildAnswer: what is kept', () => {
  it('keeps the answer and serves it with the client ID and question case (RFC 1035 7.3)', () => {
    const m = query('WwW.Example.COM', 'A', { id: 4242 });
    const { out, answer } = serve(m, replyTo(m, { id: 1, answers: [a('www.example.com', '192.0.2.1', 120)] }));
    expect(answer.kind).toBe('positive');
    expect(answer.cacheable).toBe(true);
    expect(out.id).toBe(4242);
    expect(out.questions![0]!.name).toBe('WwW.Example.COM');
    expect(out.answers).toHaveLength(1);
    expect(out.answers![0]).toMatchObject({ type: 'A', data: '192.0.2.1', ttl: 120 });
    expect(out.flag_aa).toBe(false);
  });

  it('follows the CNAME chain and drops records off the chain (RFC 1034 4.3.2, RFC 5452 bailiwick)', () => {
    const m = query('www.example.com');
    const r = replyTo(m, {
      answers: [
        cname('www.example.com', 'web.example.net', 600),
        a('web.example.net', '192.0.2.7', 100),
        a('evil.example.org', '203.0.113.66', 9999),
      ],
      authorities: [{ type: 'NS', name: 'example.org', ttl: 9999, class: 'IN', data: 'ns.evil.example' }],
      additionals: [a('ns.evil.example', '203.0.113.67', 9999)],
    });
    const { out, answer } = serve(m, r);
    expect(out.answers!.map((x) => x.name)).toEqual(['www.example.com', 'web.example.net']);
    expect(out.authorities).toHaveLength(0);
    expect(out.additionals).toHaveLength(0);
    expect(answer.ttlSec).toBe(100);
  });

  it('keeps the SOA of a negative answer and takes min(SOA TTL, MINIMUM) (RFC 2308 5)', () => {
    const m = query('nope.example.com');
    const r = replyTo(m, { rcode: 'NXDOMAIN', authorities: [soa('example.com', 900, 60)] });
    const { out, answer } = serve(m, r);
    expect(answer.kind).toBe('negative');
    expect(answer.cacheable).toBe(true);
    expect(answer.ttlSec).toBe(60);
    expect(out.rcode).toBe('NXDOMAIN');
    expect(out.authorities![0]).toMatchObject({ type: 'SOA', name: 'example.com', ttl: 60 });
  });

  it('caps negative TTLs at negativeMaxTtlSec (RFC 2308 5)', () => {
    const m = query('nope.example.com');
    const r = replyTo(m, { rcode: 'NXDOMAIN', authorities: [soa('example.com', 86400, 86400)] });
    expect(answerFor(m, r, { ...policy, negativeMaxTtlSec: 300 }).answer.ttlSec).toBe(300);
  });

  it('treats NOERROR without the asked type as NODATA, negative (RFC 2308 2.2)', () => {
    const m = query('www.example.com', 'AAAA');
    const r = replyTo(m, { answers: [a('www.example.com', '192.0.2.1')], authorities: [soa('example.com', 300, 30)] });
    const { answer, out } = serve(m, r);
    expect(answer.kind).toBe('negative');
    expect(answer.ttlSec).toBe(30);
    expect(out.answers).toHaveLength(0); // the A record does not answer AAAA
  });

  it('does not cache a negative answer without SOA, and serves it (RFC 2308 5)', () => {
    const m = query('nope.example.com');
    const { answer, out } = serve(m, replyTo(m, { rcode: 'NXDOMAIN' }));
    expect(answer.cacheable).toBe(false);
    expect(out.rcode).toBe('NXDOMAIN');
  });

  it('drops a SOA from outside the question name (bailiwick), so the answer is not cached', () => {
    const m = query('nope.example.com');
    const r = replyTo(m, { rcode: 'NXDOMAIN', authorities: [soa('other.test', 900, 900)] });
    const { answer, out } = serve(m, r);
    expect(answer.cacheable).toBe(false);
    expect(out.authorities).toHaveLength(0);
  });

  it('does not cache TTL 0 answers (RFC 1035 3.2.1)', () => {
    const m = query('zero.example.com');
    expect(answerFor(m, replyTo(m, { answers: [a('zero.example.com', '192.0.2.1', 0)] })).answer.cacheable).toBe(false);
  });

  it('clamps TTLs to [minTtlSec, maxTtlSec]', () => {
    const m = query('www.example.com');
    const low = replyTo(m, { answers: [a('www.example.com', '192.0.2.1', 5)] });
    const high = replyTo(m, { answers: [a('www.example.com', '192.0.2.1', 999999)] });
    expect(answerFor(m, low, { ...policy, minTtlSec: 30 }).answer.ttlSec).toBe(30);
    expect(answerFor(m, high, { ...policy, maxTtlSec: 3600 }).answer.ttlSec).toBe(3600);
  });

  it('treats a TTL with the top bit set as 0 (RFC 2181 8)', () => {
    const m = query('www.example.com');
    const r = replyTo(m, { answers: [a('www.example.com', '192.0.2.1', 300)] });
    const ttlAt = r.length - 11 /* OPT */ - 4 /* rdata */ - 2 /* rdlen */ - 4;
    r.writeUInt32BE(0x80000001, ttlAt);
    expect(answerFor(m, r).answer.cacheable).toBe(false);
  });

  it('rewrites names inside RDATA so compression never points into dropped records', () => {
    const m = query('example.com', 'MX');
    const r = replyTo(m, {
      answers: [
        { type: 'MX', name: 'example.com', ttl: 300, class: 'IN', data: { preference: 10, exchange: 'mail.example.com' } },
        { type: 'SRV', name: '_x._tcp.other.test', ttl: 300, class: 'IN', data: { priority: 1, weight: 1, port: 53, target: 'mail.example.com' } },
      ],
    });
    const { out } = serve(m, r);
    expect(out.answers).toHaveLength(1);
    expect(out.answers![0]).toMatchObject({ type: 'MX', data: { preference: 10, exchange: 'mail.example.com' } });
  });

  it('decompresses a name in RDATA that points into a dropped record (RFC 1035 4.1.4)', () => {
    // dns-packet never compresses, so this reply is built by hand:
    //   question example.com MX at 12; answer 1 "mail.other.test A" at 29 (off the chain, dropped);
    //   answer 2 "example.com MX 10 <pointer to 29>".
    const m = query('example.com', 'MX', { id: 7 });
    const r = Buffer.from(
      '000781800001000200000000' +
        '076578616d706c6503636f6d00000f0001' +
        '046d61696c056f7468657204746573740000010001' +
        '0000012c0004c0000209' +
        'c00c000f00010000012c0004000ac01d',
      'hex',
    );
    const { out } = serve(m, r);
    expect(out.answers).toHaveLength(1);
    expect(out.answers![0]).toMatchObject({ type: 'MX', data: { preference: 10, exchange: 'mail.other.test' } });
  });

  it('passes unknown RR types through unchanged (RFC 3597)', () => {
    // dns-packet has no name for type 65280: encode as NULL (opaque) and patch the type fields.
    const m = query('x.example.com', 'NULL');
    const rdata = Buffer.from([1, 2, 3, 0xc0, 0x0c]); // looks like a pointer, must stay opaque
    const r = replyTo(m, { answers: [{ type: 'NULL', name: 'x.example.com', ttl: 60, class: 'IN', data: rdata } as never] });
    const qtypeAt = m.length - 4;
    m.writeUInt16BE(65280, qtypeAt);
    r.writeUInt16BE(65280, qtypeAt);
    r.writeUInt16BE(65280, qtypeAt + 4 + (qtypeAt - 12)); // dns-packet writes the owner uncompressed
    const { raw, answer } = serve(m, r);
    expect(answer.kind).toBe('positive');
    expect(raw.subarray(raw.length - rdata.length).equals(rdata)).toBe(true);
  });
});

describe('serveAnswer', () => {
  it('writes the remaining lifetime into every TTL (RFC 1035 3.2.1: TTLs count down)', () => {
    const m = query('www.example.com', 'TXT');
    const r = replyTo(m, { answers: [txt('www.example.com', 'one', 300), txt('www.example.com', 'two', 200)] });
    const { out } = serve(m, r, 17);
    expect(out.answers!.map((x) => x.ttl)).toEqual([17, 17]);
  });

  it('truncates to header and question with TC=1 beyond 512 octets without EDNS (RFC 1035 4.2.1, RFC 2181 9)', () => {
    const m = query('big.example.com', 'TXT');
    const answers = Array.from({ length: 10 }, (_, i) => txt('big.example.com', 'x'.repeat(100) + i));
    const { out } = serve(m, replyTo(m, { answers }));
    expect(out.flag_tc).toBe(true);
    expect(out.answers).toHaveLength(0);
    expect(out.questions![0]!.name).toBe('big.example.com');
  });

  it('fits the same answer within a client EDNS size, with our OPT (RFC 6891 6.2.5)', () => {
    const m = query('big.example.com', 'TXT', { edns: { udpSize: 4096 } });
    const answers = Array.from({ length: 10 }, (_, i) => txt('big.example.com', 'x'.repeat(100) + i));
    const { out } = serve(m, replyTo(m, { answers }));
    expect(out.flag_tc).toBe(false);
    expect(out.answers).toHaveLength(10);
    const opt = out.additionals!.find((x) => x.type === 'OPT') as { udpPayloadSize: number };
    expect(opt.udpPayloadSize).toBe(1232);
  });

  it('caps a client EDNS size at MaxUDPSize and answers TCP up to 65535', () => {
    const m = q(query('x.example.com', 'A', { edns: { udpSize: 65000 } }));
    expect(replyLimit(m, 'udp', 1232)).toBe(1232);
    expect(replyLimit(m, 'tcp', 1232)).toBe(65535);
  });

  it('adds no OPT for clients without EDNS, and clears AD for them (RFC 6891 7, RFC 6840 5.8)', () => {
    const m = query('www.example.com');
    const r = replyTo(m, { answers: [a('www.example.com', '192.0.2.1')] });
    r[3]! |= 0x20; // AD from upstream
    const { out } = serve(m, r);
    expect(out.additionals).toHaveLength(0);
    expect(out.flag_ad).toBe(false);
    const withDo = query('www.example.com', 'A', { edns: { do: true } });
    const r2 = replyTo(withDo, { answers: [a('www.example.com', '192.0.2.1')] });
    r2[3]! |= 0x20;
    expect(serve(withDo, r2).out.flag_ad).toBe(true);
  });
});

describe('the packed form (the cache\'s bytes) and servePacked', () => {
  /** An answer packed at an odd offset of a larger buffer, as the cache's slabs hold it. */
  function packed(answer: ReturnType<typeof buildAnswer>) {
    const bytes = Buffer.alloc(packedAnswerLength(answer) + 40, 0xee);
    packAnswer(answer, bytes, 33);
    return { bytes, start: 33, storedLen: storedLength(answer), ttlCount: answer.ttlOffsets.length, rcode: answer.rcode };
  }

  it('leaves the question, ID and QDCOUNT out and serves what serveAnswer serves, in each client\'s spelling', () => {
    const first = query('Www.Example.com', 'TXT', { id: 1 });
    const r = replyTo(first, {
      answers: [cname('www.example.com', 'web.example.com', 600), txt('web.example.com', 'hello', 300)],
    });
    const { answer } = answerFor(first, r);
    const questionLen = answer.questionEnd - 12;
    expect(questionLen).toBe(17 + 4);
    // Neither the question nor the ID and QDCOUNT (4 bytes) are kept; each TTL's offset is (2 bytes).
    expect(packedAnswerLength(answer)).toBe(answer.wire.length - questionLen - 4 + 2 * answer.ttlOffsets.length);
    const p = packed(answer);
    // Another client, another case and ID, EDNS or not, DO or not, stale or not, over UDP or TCP.
    const clients = [
      query('WWW.EXAMPLE.COM', 'TXT', { id: 77 }),
      query('www.example.com', 'TXT', { id: 78, edns: { udpSize: 4096 } }),
      query('wWw.eXaMpLe.CoM', 'TXT', { id: 79, edns: { udpSize: 1232, do: true } }),
    ];
    for (const c of clients) {
      const cq = q(c);
      for (const stale of [false, true]) {
        for (const limit of [replyLimit(cq, 'udp', 1232), 40]) {
          const want = serveAnswer(answer, cq, 123, limit, 1232, stale);
          expect(servePacked(p, cq, 123, limit, 1232, stale).equals(want)).toBe(true);
        }
      }
      const out = decode(servePacked(p, cq, 123, 1232, 1232));
      expect(out.id).toBe(cq.msg.readUInt16BE(0));
      expect(out.questions![0]!.name).toBe(decode(c).questions![0]!.name);
      // Compressed names point into the question, so they follow the client's spelling.
      expect(out.answers!.map((x) => [x.name, x.type, x.ttl])).toEqual([
        [out.questions![0]!.name, 'CNAME', 123],
        [`web.${out.questions![0]!.name.slice(4)}`, 'TXT', 123],
      ]);
    }
  });

  it('serves a negative answer with its SOA from the packed form', () => {
    const m = query('nope.example.com', 'AAAA');
    const { answer } = answerFor(m, replyTo(m, { rcode: 'NXDOMAIN', authorities: [soa('example.com', 900, 60)] }));
    const cq = q(query('NOPE.example.com', 'AAAA', { id: 9, edns: { udpSize: 1232 } }));
    const out = servePacked(packed(answer), cq, 42, 1232, 1232);
    expect(out.equals(serveAnswer(answer, cq, 42, 1232, 1232))).toBe(true);
    expect(decode(out)).toMatchObject({ rcode: 'NXDOMAIN', authorities: [{ type: 'SOA', ttl: 42 }] });
  });
});

describe('buildAnswer: RDATA shapes (RFC 9267)', () => {
  const bad = (type: 'A' | 'AAAA' | 'TXT', data: Buffer) => {
    const m = query('www.example.com', type);
    // Encoded as NULL (opaque) with the given bytes, then retyped.
    const r = replyTo(m, { answers: [{ type: 'NULL', name: 'www.example.com', ttl: 60, class: 'IN', data } as never] });
    const typeAt = m.length - 4 + 4 + (m.length - 4 - 12);
    r.writeUInt16BE({ A: 1, AAAA: 28, TXT: 16 }[type], typeAt);
    return () => answerFor(m, r);
  };
  // An RRSIG of 15 octets: test/unit/dnssec.test.ts (rejected only where it would be passed on).
  it('rejects an A record of 5 octets, an AAAA of 4, TXT strings that overrun', () => {
    expect(bad('A', Buffer.alloc(5))).toThrow(/rdata-shape/);
    expect(bad('AAAA', Buffer.alloc(4))).toThrow(/rdata-shape/);
    expect(bad('TXT', Buffer.from([5, 1, 2]))).toThrow(/rdata-shape/);
  });
});
