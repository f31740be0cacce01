// Replays test/fixtures/hostile-queries.json through the whole in-process pipeline: each packet
// with the outcome it must get. New crashers found by `npm run fuzz` belong in that file.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Resolver } from '../../src/resolver.js';
import { ManualClock } from '../../src/clock.js';
import { newStats } from '../../src/stats.js';
import { buildAnswer } from '../../src/dns/answer.js';
import { parseReply } from '../../src/dns/message.js';
import { replyTo } from '../helpers/dns-packets.js';
import { upstreamQuery } from '../../src/dns/synth.js';
import { rcodeName } from '../../src/dns/mnemonics.js';
import { handled } from '../helpers/pipeline.js';

interface Fixture {
  name: string;
  expect: 'answer' | 'drop' | 'FORMERR' | 'NOTIMP' | 'REFUSED' | 'BADVERS';
  hex: string;
}
const fixtures = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'hostile-queries.json'), 'utf8')) as Fixture[];

// An upstream that answers every question with NOERROR and no records (enough to see 'answer').
const resolver = new Resolver(
  { maxUdpSize: 1232, maxInflight: 16, failureTtlSec: 5 },
  {
    cache: null,
    upstream: {
      resolve: (q, sink) => {
        const sent = upstreamQuery(q, 7, 1232);
        const answer = buildAnswer(parseReply(replyTo(sent)), false, { minTtlSec: 0, maxTtlSec: 60, negativeMaxTtlSec: 60 });
        queueMicrotask(() => sink.resolved(answer, 'fake'));
      },
    },
    clock: new ManualClock(),
    log: pino({ level: 'silent' }),
    stats: newStats(),
  },
);

function outcome(reply: Buffer | null): string {
  if (reply === null) return 'drop';
  const arcount = reply.readUInt16BE(10);
  const ext = arcount > 0 ? reply[reply.length - 6]! : 0; // our OPT is last: extended RCODE byte
  const rcode = (ext << 4) | (reply[3]! & 0x0f);
  return rcode === 0 ? 'answer' : rcodeName(rcode);
}

describe('hostile query corpus (test/fixtures/hostile-queries.json)', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_name, f) => {
    const msg = Buffer.from(f.hex, 'hex');
    const reply = await handled(resolver, msg);
    expect(outcome(reply)).toBe(f.expect);
    if (reply) expect(reply.readUInt16BE(0)).toBe(msg.readUInt16BE(0));
  });
});
