// Type and RCODE mnemonics for logs, from dns-packet's tables; numbers it does not know are
// written the RFC 3597 way (TYPE65) rather than dns-packet's UNKNOWN_65.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const types = require('dns-packet/types.js') as { toString(type: number): string };
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
