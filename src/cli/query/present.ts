// Records as `vrf-resolver query` prints them: the presentation form of RFC 1035 section 5.1
// and of each type's RFC, from dns-packet's decoding. Types dns-packet does not know come as
// raw RDATA and are written in the RFC 3597 generic form (\# LENGTH HEX).

import type { Answer } from 'dns-packet';

export interface PresentedRecord {
  readonly name: string;
  readonly ttl: number;
  readonly class: string;
  readonly type: string;
  readonly data: string;
}

type Data = Record<string, unknown>;

export function presentRecord(rr: Answer): PresentedRecord {
  const r = rr as unknown as { name: string; type: string; ttl?: number; class?: string; data?: unknown };
  const type = r.type.startsWith('UNKNOWN_') ? `TYPE${r.type.slice('UNKNOWN_'.length)}` : r.type;
  return { name: fqdn(r.name), ttl: r.ttl ?? 0, class: r.class ?? 'IN', type, data: presentData(r.type, r.data) };
}

/** dig's layout: owner, TTL, class, type, data, tab-separated. */
export function recordLine(p: PresentedRecord): string {
  return `${p.name}\t${p.ttl}\t${p.class}\t${p.type}\t${p.data}`;
}

function presentData(type: string, data: unknown): string {
  if (Buffer.isBuffer(data)) return generic(data);
  if (typeof data === 'string') return ['A', 'AAAA'].includes(type) ? data : fqdn(data); // NS, CNAME, DNAME, PTR
  if (Array.isArray(data)) return data.map((s) => quoted(Buffer.isBuffer(s) ? s : Buffer.from(String(s)))).join(' '); // TXT
  const d = (data ?? {}) as Data;
  const n = (k: string): string => String(d[k] ?? '');
  const name = (k: string): string => fqdn(n(k));
  const hex = (k: string): string => (Buffer.isBuffer(d[k]) ? (d[k] as Buffer).toString('hex').toUpperCase() : n(k));
  const b64 = (k: string): string => (Buffer.isBuffer(d[k]) ? (d[k] as Buffer).toString('base64') : n(k));
  const str = (k: string): string => quoted(Buffer.from(n(k)));
  switch (type) {
    case 'MX': return `${n('preference')} ${name('exchange')}`;
    case 'SOA': return `${name('mname')} ${name('rname')} ${n('serial')} ${n('refresh')} ${n('retry')} ${n('expire')} ${n('minimum')}`;
    case 'SRV': return `${n('priority')} ${n('weight')} ${n('port')} ${name('target')}`;
    case 'CAA': return `${n('flags')} ${n('tag')} ${str('value')}`;
    case 'HINFO': return `${str('cpu')} ${str('os')}`;
    case 'RP': return `${name('mbox')} ${name('txt')}`;
    case 'NAPTR': return `${n('order')} ${n('preference')} ${str('flags')} ${str('services')} ${str('regexp')} ${name('replacement')}`;
    case 'DS': return `${n('keyTag')} ${n('algorithm')} ${n('digestType')} ${hex('digest')}`;
    case 'DNSKEY': return `${n('flags')} 3 ${n('algorithm')} ${b64('key')}`;
    case 'RRSIG':
      return `${n('typeCovered')} ${n('algorithm')} ${n('labels')} ${n('originalTTL')} ${time(d['expiration'])} ` +
        `${time(d['inception'])} ${n('keyTag')} ${name('signersName')} ${b64('signature')}`;
    case 'NSEC': return `${name('nextDomain')} ${types(d['rrtypes'])}`;
    case 'NSEC3': {
      const salt = Buffer.isBuffer(d['salt']) && d['salt'].length > 0 ? hex('salt') : '-';
      const next = Buffer.isBuffer(d['nextDomain']) ? base32hex(d['nextDomain']) : n('nextDomain');
      return `${n('algorithm')} ${n('flags')} ${n('iterations')} ${salt} ${next} ${types(d['rrtypes'])}`;
    }
    case 'SSHFP': return `${n('algorithm')} ${n('hash')} ${n('fingerprint')}`;
    case 'TLSA': return `${n('usage')} ${n('selector')} ${n('matchingType')} ${hex('certificate')}`;
    default: return JSON.stringify(data);
  }
}

function fqdn(name: string): string {
  return name === '.' || name === '' ? '.' : name.endsWith('.') ? name : `${name}.`;
}

/** A character-string in quotes: " and \ escaped, other octets outside printable ASCII as \DDD. */
function quoted(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${String(c).padStart(3, '0')}`;
  }
  return `"${s}"`;
}

/** RFC 3597 section 5. */
function generic(b: Buffer): string {
  return b.length === 0 ? '\\# 0' : `\\# ${b.length} ${b.toString('hex').toUpperCase()}`;
}

/** RRSIG times as YYYYMMDDHHmmSS (RFC 4034 section 3.2). */
function time(v: unknown): string {
  const d = new Date(Number(v) * 1000);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function types(v: unknown): string {
  return Array.isArray(v) ? v.map((t) => (String(t).startsWith('UNKNOWN_') ? `TYPE${String(t).slice(8)}` : String(t))).join(' ') : '';
}

/** NSEC3's next hashed owner, in Base 32 with the extended hex alphabet (RFC 4648 section 7). */
function base32hex(b: Buffer): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUV';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = ((value << 8) | byte) & 0xffff; // at most 12 bits are pending
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]!;
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]!;
  return out;
}
