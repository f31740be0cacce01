// Client networks for AllowFrom=: "192.0.2.0/24", "2001:db8::/32", or an address alone (a /32 or
// /128). An IPv4-mapped IPv6 client ("::ffff:192.0.2.1", from a dual-stack socket) is matched as
// the IPv4 address it is, as Unbound's access-control does.

import { isIP } from 'node:net';
import type { Parsed } from './schema.js';

export interface Cidr {
  readonly family: 4 | 6;
  /** The network's address bytes, host bits cleared (an array: a frozen Config holds no Buffer). */
  readonly bytes: readonly number[];
  readonly prefix: number;
  /** As written back by formatCidr: "192.0.2.0/24". */
  readonly text: string;
}

export function parseCidr(raw: string): Parsed<Cidr> {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address) as 0 | 4 | 6;
  if (family === 0 || address.includes('%')) {
    return { ok: false, message: `"${raw}" is not a network: write ADDRESS/PREFIX (192.0.2.0/24, 2001:db8::/32) or an address alone` };
  }
  const max = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return { ok: false, message: `"${raw}": the prefix length must be a number from 0 to ${max}` };
  }
  const prefix = Number(prefixText);
  const bytes = addressBytes(address, family)!;
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { ok: true, value: { family, bytes: [...bytes], prefix, text: `${formatBytes(bytes, family)}/${prefix}` } };
}

/** Decides per client address; built once from AllowFrom=, asked per query on routable listeners. */
export class AddressMatcher {
  private readonly nets: readonly Cidr[];

  constructor(nets: readonly Cidr[]) {
    this.nets = nets;
  }

  allows(address: string): boolean {
    let family = isIP(address);
    let text = address;
    if (family === 6 && address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4) {
      text = address.slice(7);
      family = 4;
    }
    const bytes = addressBytes(text, family);
    if (bytes === null) return false;
    return this.nets.some((n) => n.family === family && matches(n, bytes));
  }

  /** True when every loopback address of both families is allowed: loopback-only listeners need no check. */
  get allowsAllLoopback(): boolean {
    return this.allowsNet('127.0.0.0/8') && this.allowsNet('::1/128');
  }

  private allowsNet(cidr: string): boolean {
    const p = parseCidr(cidr);
    return p.ok && this.nets.some((n) => n.family === p.value.family && n.prefix <= p.value.prefix && matches(n, Buffer.from(p.value.bytes)));
  }
}

function matches(n: Cidr, bytes: Buffer): boolean {
  const full = n.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== n.bytes[i]) return false;
  const rest = n.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full]! & mask) === n.bytes[full];
}

function addressBytes(address: string, family: number): Buffer | null {
  if (family === 4) {
    const parts = address.split('.').map(Number);
    return parts.length === 4 && parts.every((p) => p >= 0 && p <= 255) ? Buffer.from(parts) : null;
  }
  if (family !== 6) return null;
  // Expand "::" and an embedded IPv4 tail, then read eight 16-bit groups.
  let a = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const b = addressBytes(v4[1]!, 4);
    if (!b) return null;
    a = a.slice(0, -v4[1]!.length) + `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function formatBytes(bytes: Buffer, family: 4 | 6): string {
  if (family === 4) return [...bytes].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  // RFC 5952 form via the URL parser, as endpoint.ts does.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
