// Building test messages with dns-packet (an independent encoder, so our wire code is checked
// against something it did not write) and a few raw-byte helpers for malformed input.

import packet from 'dns-packet';

export type Rec = packet.Answer;

export interface QueryOpts {
  id?: number;
  rd?: boolean;
  cd?: boolean;
  ad?: boolean;
  /** EDNS: udpSize and DO; omit for no OPT record. */
  edns?: { udpSize?: number; do?: boolean };
}

export function query(name: string, type: packet.RecordType = 'A', o: QueryOpts = {}): Buffer {
  let flags = o.rd === false ? 0 : packet.RECURSION_DESIRED;
  if (o.cd) flags |= packet.CHECKING_DISABLED;
  if (o.ad) flags |= packet.AUTHENTIC_DATA;
  return packet.encode({
    type: 'query',
    id: o.id ?? 0x1234,
    flags,
    questions: [{ type, name, class: 'IN' }],
    additionals: o.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: o.edns.udpSize ?? 1232, flags: o.edns.do ? packet.DNSSEC_OK : 0 }]
      : [],
  } as packet.Packet);
}

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface ReplyOpts {
  id: number;
  rcode?: keyof typeof RCODES;
  tc?: boolean;
  answers?: Rec[];
  authorities?: Rec[];
  additionals?: Rec[];
  /** Question name/type as echoed; defaults to the query's. */
  qname?: string;
  qtype?: packet.RecordType;
  edns?: boolean;
}

/** An upstream's reply to `q` (a query buffer we sent). */
export function replyTo(q: Buffer, o: Partial<ReplyOpts> = {}): Buffer {
  const dq = packet.decode(q);
  const question = dq.questions![0]!;
  // dns-packet takes the RCODE from the low bits of `flags`, not from `rcode`.
  let flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | RCODES[o.rcode ?? 'NOERROR'];
  if (o.tc) flags |= packet.TRUNCATED_RESPONSE;
  return packet.encode({
    type: 'response',
    id: o.id ?? dq.id!,
    flags,
    questions: [{ type: o.qtype ?? question.type, name: o.qname ?? question.name, class: 'IN' }],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: [
      ...(o.additionals ?? []),
      ...(o.edns === false ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as Rec]),
    ],
  } as packet.Packet);
}

export function decode(b: Buffer): packet.Packet {
  return packet.decode(b);
}

export const a = (name: string, ip: string, ttl = 300): Rec => ({ type: 'A', name, ttl, class: 'IN', data: ip });
export const aaaa = (name: string, ip: string, ttl = 300): Rec => ({ type: 'AAAA', name, ttl, class: 'IN', data: ip });
export const cname = (name: string, target: string, ttl = 300): Rec => ({ type: 'CNAME', name, ttl, class: 'IN', data: target });
export const txt = (name: string, text: string, ttl = 300): Rec => ({ type: 'TXT', name, ttl, class: 'IN', data: [text] });
export const soa = (zone: string, ttl = 3600, minimum = 60): Rec => ({
  type: 'SOA',
  name: zone,
  ttl,
  class: 'IN',
  data: { mname: `ns.${zone}`, rname: `admin.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
});

/** Header bytes: id, flags, qd, an, ns, ar. */
export function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

export function rcodeOf(b: Buffer): number {
  return b[3]! & 0x0f;
}

/** Labels of a presentation name, root excluded, a leading "*" not counted (RFC 4034 3.1.3). */
const sigLabels = (name: string): number => name.replace(/\.$/, '').split('.').filter((l, i) => !(i === 0 && l === '*')).length;

/**
 * An RRSIG over `covered` at `name`, signed by `signer`. `labels` defaults to the owner's count;
 * fewer marks a wildcard expansion (RFC 4035 5.3.4). The signature bytes are filler: nothing here
 * validates, the validator test (integration/dnssec-validator.test.ts) signs for real.
 */
export const rrsig = (name: string, covered: string, signer: string, o: { labels?: number; ttl?: number } = {}): Rec =>
  ({
    type: 'RRSIG',
    name,
    ttl: o.ttl ?? 300,
    class: 'IN',
    data: {
      typeCovered: covered,
      algorithm: 13,
      labels: o.labels ?? sigLabels(name),
      originalTTL: o.ttl ?? 300,
      expiration: 2000000000,
      inception: 1700000000,
      keyTag: 4242,
      signersName: signer,
      signature: Buffer.alloc(64, 0xab),
    },
  }) as Rec;
export const nsec = (name: string, next: string, types: string[], ttl = 300): Rec =>
  ({ type: 'NSEC', name, ttl, class: 'IN', data: { nextDomain: next, rrtypes: types } }) as Rec;
/** An NSEC3 at <hash>.<zone> (RFC 5155 3); the hash is any base32hex label. */
export const nsec3 = (hash: string, zone: string, types: string[], ttl = 300): Rec =>
  ({
    type: 'NSEC3',
    name: `${hash}.${zone}`,
    ttl,
    class: 'IN',
    data: { algorithm: 1, flags: 0, iterations: 0, salt: Buffer.alloc(0), nextDomain: Buffer.alloc(20, 0x11), rrtypes: types },
  }) as Rec;
