// Type and RCODE mnemonics for logs and the CLI, from dns-packet's tables; numbers it does not
// know are written the RFC 3597 way (TYPE65) rather than dns-packet's UNKNOWN_65.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const types = require('dns-packet/types.js') as { toString(type: number): string; toType(name: string): number };
const rcodes = require('dns-packet/rcodes.js') as { toString(rcode: number): string };

export function typeName(type: number): string {
  const s = types.toString(type);
  return s.startsWith('UNKNOWN_') ? `TYPE${type}` : s;
}

export function rcodeName(rcode: number): string {
  if (rcode === 16) return 'BADVERS'; // extended RCODE (RFC 6891), beyond dns-packet's 4-bit table
  const s = rcodes.toString(rcode);
  return s.startsWith('RCODE_') ? `RCODE${rcode}` : s;
}

/**
 * A type as an operator writes it: a mnemonic dns-packet knows (A, aaaa, MX) or the RFC 3597
 * form TYPE65534; null for anything else.
 */
export function typeNumber(word: string): number | null {
  const generic = /^TYPE([0-9]{1,5})$/i.exec(word);
  if (generic) {
    const n = Number(generic[1]);
    return n >= 1 && n <= 65535 ? n : null;
  }
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(word)) return null; // not "*" or dns-packet's UNKNOWN_n
  const n = types.toType(word);
  return n > 0 ? n : null;
}
