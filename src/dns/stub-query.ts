// The query a stub resolver sends, for `vrf-resolver query`: a name as an operator types it, in
// wire form, and one question with RD=1 and an OPT record (RFC 1035 section 4.1, RFC 6891).

import { CLASS_IN, F2_RD, HEADER_LEN, MAX_LABEL_LEN, MAX_NAME_LEN } from './constants.js';
import { OPT_LEN, writeOpt } from './synth.js';

/**
 * A name in presentation form (RFC 1035 section 5.1: "\." and "\DDD" escapes, a final dot
 * optional) in uncompressed wire form, or what is wrong with it.
 */
export function nameFromText(text: string): Buffer | string {
  if (text === '.') return Buffer.from([0]);
  if (text === '') return 'an empty name; the root is "."';
  if (/[^\x21-\x7e]/.test(text)) return `"${text}" has spaces or non-ASCII letters; write an internationalised name in its xn-- form`;
  const labels: number[][] = [];
  let label: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (label.length === 0) return `"${text}" has an empty label`;
      labels.push(label);
      label = [];
    } else if (c === 0x5c /* \ */) {
      const ddd = /^[0-9]{3}/.exec(text.slice(i + 1))?.[0];
      if (ddd !== undefined) {
        if (Number(ddd) > 255) return `"${text}": \\${ddd} is not an octet`;
        label.push(Number(ddd));
        i += 3;
      } else if (i + 1 < text.length) {
        label.push(text.charCodeAt(++i));
      } else {
        return `"${text}" ends in a lone backslash`;
      }
    } else {
      label.push(c);
    }
  }
  if (label.length > 0) labels.push(label);
  if (labels.some((l) => l.length > MAX_LABEL_LEN)) return `"${text}" has a label longer than ${MAX_LABEL_LEN} octets`;
  const wire = Buffer.from([...labels.flatMap((l) => [l.length, ...l]), 0]);
  if (wire.length > MAX_NAME_LEN) return `"${text}" is longer than ${MAX_NAME_LEN} octets`;
  return wire;
}

export interface StubQuery {
  readonly msg: Buffer;
  readonly id: number;
  /** The question section as sent (name, type, class), for replyMatches. */
  readonly question: Buffer;
}

/** One question for `name` (wire form) and `type`, class IN, RD=1, EDNS advertising `udpSize`. */
export function stubQuery(name: Buffer, type: number, id: number, udpSize: number): StubQuery {
  const question = Buffer.alloc(name.length + 4);
  name.copy(question, 0);
  question.writeUInt16BE(type, name.length);
  question.writeUInt16BE(CLASS_IN, name.length + 2);
  const msg = Buffer.alloc(HEADER_LEN + question.length + OPT_LEN);
  msg.writeUInt16BE(id, 0);
  msg[2] = F2_RD;
  msg.writeUInt16BE(1, 4); // QDCOUNT
  msg.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  question.copy(msg, HEADER_LEN);
  writeOpt(msg, HEADER_LEN + question.length, udpSize, 0, false);
  return { msg, id, question };
}
