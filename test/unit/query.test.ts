import { describe, expect, it } from 'vitest';
import { parseQuery, MAX_QUERY_LEN } from '../../src/dns/query.js';
import { errorReply } from '../../src/dns/synth.js';
import { decode, header, query } from '../helpers/dns-packets.js';

const qname = Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]);
const qtail = Buffer.from([0, 1, 0, 1]); // A IN
const opt = (udp = 1232, ttl = 0, rdata = Buffer.alloc(0)) => {
  const b = Buffer.alloc(11 + rdata.length);
  b[0] = 0;
  b.writeUInt16BE(41, 1);
  b.writeUInt16BE(udp, 3);
  b.writeUInt32BE(ttl, 5);
  b.writeUInt16BE(rdata.length, 9);
  rdata.copy(b, 11);
  return b;
};
const raw = (...parts: Buffer[]) => Buffer.concat(parts);

function verdict(msg: Buffer) {
  return parseQuery(msg);
}
function errorOf(msg: Buffer) {
  const v = parseQuery(msg);
  if (v.kind !== 'error') throw new Error(`expected an error verdict, got ${v.kind}`);
  return v;
}

describe('parseQuery: well-formed queries', () => {
  it('accepts a plain query and locates the question (RFC 1035 4.1.2)', () => {
    const v = verdict(query('www.example.com', 'AAAA'));
    expect(v.kind).toBe('ok');
    if (v.kind !== 'ok') return;
    expect(v.query.qtype).toBe(28);
    expect(v.query.qclass).toBe(1);
    expect(v.query.edns).toBeNull();
    expect(v.query.questionEnd).toBe(v.query.msg.length);
    expect(v.query.rd).toBe(true);
  });

  it('reads EDNS size and DO from the OPT record (RFC 6891 6.1.2, RFC 3225)', () => {
    const v = verdict(query('example.com', 'A', { edns: { udpSize: 4096, do: true } }));
    expect(v.kind === 'ok' && v.query.edns).toEqual({ udpSize: 4096, version: 0, do: true });
  });

  it('treats an EDNS size below 512 as 512 (RFC 6891 6.2.5)', () => {
    const v = verdict(query('example.com', 'A', { edns: { udpSize: 100 } }));
    expect(v.kind === 'ok' && v.query.edns?.udpSize).toBe(512);
  });

  it('keys names case-insensitively in ASCII only (RFC 4343)', () => {
    const k1 = verdict(query('WWW.Example.COM')) as { kind: 'ok'; query: { key: string } };
    const k2 = verdict(query('www.example.com')) as { kind: 'ok'; query: { key: string } };
    expect(k1.query.key).toBe(k2.query.key);
    // 0xC0 is not an uppercase letter: it must stay distinct from 0xE0.
    const n1 = raw(header(1, 0x0100, 1), Buffer.from([1, 0xc0, 0]), qtail);
    const n2 = raw(header(1, 0x0100, 1), Buffer.from([1, 0xe0, 0]), qtail);
    const v1 = verdict(n1);
    const v2 = verdict(n2);
    expect(v1.kind === 'ok' && v2.kind === 'ok' && v1.query.key !== v2.query.key).toBe(true);
  });

  it('puts DO and CD in the cache key (ARCHITECTURE.md, a query\'s way through, step 3)', () => {
    const key = (b: Buffer) => (verdict(b) as { kind: 'ok'; query: { key: string } }).query.key;
    const plain = key(query('example.com'));
    expect(key(query('example.com', 'A', { edns: { do: true } }))).not.toBe(plain);
    expect(key(query('example.com', 'A', { cd: true }))).not.toBe(plain);
    expect(key(query('example.com', 'A', { edns: { do: false } }))).toBe(plain);
    expect(key(query('example.com', 'AAAA'))).not.toBe(plain);
  });
});

describe('parseQuery: dropped without an answer', () => {
  it('drops a datagram shorter than a header (RFC 1035 4.1.1)', () => {
    expect(verdict(Buffer.alloc(11))).toEqual({ kind: 'drop', fault: 'short-header' });
  });
  it('drops an oversize query unread', () => {
    expect(verdict(Buffer.alloc(MAX_QUERY_LEN + 1))).toEqual({ kind: 'drop', fault: 'oversize' });
  });
  it('never answers a message with QR=1 (reflection loops)', () => {
    const m = query('example.com');
    m[2]! |= 0x80;
    expect(verdict(m)).toEqual({ kind: 'drop', fault: 'qr-set' });
  });
});

describe('parseQuery: answered with an error rcode', () => {
  it('NOTIMP for opcodes other than QUERY (RFC 1035 4.1.1)', () => {
    const m = query('example.com');
    m[2] = (m[2]! & 0x87) | (4 << 3); // NOTIFY
    const v = errorOf(m);
    expect(v.rcode).toBe(4);
    expect(v.questionEnd).toBe(m.length);
  });
  it('FORMERR for QDCOUNT 0 and 2 (RFC 9619)', () => {
    expect(errorOf(header(1, 0x0100, 0)).rcode).toBe(1);
    expect(errorOf(raw(header(1, 0x0100, 2), qname, qtail, qname, qtail)).fault).toBe('qdcount');
  });
  it('FORMERR for answer or authority records in a query', () => {
    expect(errorOf(raw(header(1, 0x0100, 1, 1), qname, qtail)).fault).toBe('records-in-query');
    expect(errorOf(raw(header(1, 0x0100, 1, 0, 1), qname, qtail)).fault).toBe('records-in-query');
  });
  it('FORMERR when counts promise more records than the data holds (RFC 9267 5)', () => {
    expect(errorOf(raw(header(1, 0x0100, 1, 0, 0, 1), qname, qtail)).fault).toBe('truncated');
  });
  it('FORMERR when RDLENGTH runs past the end (RFC 9267 5)', () => {
    const o = opt();
    o.writeUInt16BE(40, 9);
    expect(errorOf(raw(header(1, 0x0100, 1, 0, 0, 1), qname, qtail, o)).fault).toBe('rdlength');
  });
  it('FORMERR for trailing bytes after the counted records', () => {
    expect(errorOf(raw(header(1, 0x0100, 1), qname, qtail, Buffer.from([0]))).fault).toBe('trailing-bytes');
  });
  it('FORMERR for two OPT records (RFC 6891 6.1.1)', () => {
    expect(errorOf(raw(header(1, 0x0100, 1, 0, 0, 2), qname, qtail, opt(), opt())).fault).toBe('opt-duplicate');
  });
  it('FORMERR for an OPT record whose owner is not the root (RFC 6891 6.1.2)', () => {
    const o = raw(Buffer.from([1, 0x61]), opt());
    expect(errorOf(raw(header(1, 0x0100, 1, 0, 0, 1), qname, qtail, o)).fault).toBe('opt-owner');
  });
  it('FORMERR for EDNS options that do not tile the RDATA (RFC 6891 6.1.2)', () => {
    const bad = opt(1232, 0, Buffer.from([0, 10, 0, 5, 1, 2]));
    expect(errorOf(raw(header(1, 0x0100, 1, 0, 0, 1), qname, qtail, bad)).fault).toBe('edns-options');
  });
  it('BADVERS for EDNS version 1, carried in the OPT extended RCODE (RFC 6891 6.1.3)', () => {
    const m = raw(header(1, 0x0100, 1, 0, 0, 1), qname, qtail, opt(1232, 1 << 16));
    const v = errorOf(m);
    expect(v.rcode).toBe(16);
    const out = errorReply(m, v.rcode, v.questionEnd, v.edns, 1232);
    expect(out[3]! & 0x0f).toBe(0);
    const d = decode(out);
    const o = d.additionals!.find((r) => r.type === 'OPT') as { extendedRcode?: number };
    expect(o.extendedRcode).toBe(1);
  });
  it('FORMERR for a compression pointer in the question name (RFC 1035 4.1.4)', () => {
    expect(errorOf(raw(header(1, 0x0100, 1), Buffer.from([0xc0, 0x0c]), qtail)).fault).toBe('pointer-in-question');
  });
  it('FORMERR for label types 0x40 and 0x80 (RFC 6891 5)', () => {
    expect(errorOf(raw(header(1, 0x0100, 1), Buffer.from([0x41, 0]), qtail)).rcode).toBe(1);
    expect(errorOf(raw(header(1, 0x0100, 1), Buffer.from([0x81, 0]), qtail)).rcode).toBe(1);
  });
  it('FORMERR for a name over 255 octets (RFC 1035 2.3.4)', () => {
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    const long = Buffer.concat([label, label, label, label, Buffer.from([0])]); // 257 octets
    expect(errorOf(raw(header(1, 0x0100, 1), long, qtail)).rcode).toBe(1);
  });
  it('FORMERR for a question cut short', () => {
    expect(errorOf(raw(header(1, 0x0100, 1), qname, Buffer.from([0, 1]))).fault).toBe('truncated');
  });
  it('REFUSED for zone transfers (RFC 5936 4.2) and non-IN classes', () => {
    expect(errorOf(query('example.com', 'AXFR')).rcode).toBe(5);
    expect(errorOf(query('example.com', 'IXFR')).rcode).toBe(5);
    expect(errorOf(raw(header(1, 0x0100, 1), qname, Buffer.from([0, 16, 0, 3]))).fault).toBe('refused-class');
  });
  it('FORMERR for meta types as a question (OPT, TSIG: RFC 6891 6.1.1, RFC 8945)', () => {
    expect(errorOf(raw(header(1, 0x0100, 1), qname, Buffer.from([0, 41, 0, 1]))).fault).toBe('meta-qtype');
    expect(errorOf(raw(header(1, 0x0100, 1), qname, Buffer.from([0, 250, 0, 1]))).fault).toBe('meta-qtype');
  });
});

describe('errorReply', () => {
  it('echoes ID, opcode, RD and the question, sets QR and RA (RFC 1035 4.1.1)', () => {
    const m = query('Example.com', 'A', { id: 0xbeef });
    const out = errorReply(m, 2, m.length, null, 1232);
    const d = decode(out);
    expect(d.id).toBe(0xbeef);
    expect(d.rcode).toBe('SERVFAIL');
    expect(d.questions![0]!.name).toBe('Example.com');
    expect(d.flag_qr).toBe(true);
    expect(d.flag_rd).toBe(true);
    expect(d.flag_ra).toBe(true);
  });
});
