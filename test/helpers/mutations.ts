// fast-check arbitraries for hostile DNS messages: random bytes, and valid messages damaged
// the ways parsers get hurt (bit flips, cuts, junk tails, lying counts, compression pointers
// aimed anywhere, 0x40/0x80 label types).

import fc from 'fast-check';

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'tail'; bytes: Uint8Array }
  | { kind: 'count'; which: number; value: number }
  | { kind: 'pointer'; at: number; target: number }
  | { kind: 'label'; at: number; type: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('tail' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('count' as const), which: fc.integer({ min: 0, max: 3 }), value: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ kind: fc.constant('pointer' as const), at: fc.nat(), target: fc.integer({ min: 0, max: 0x3fff }) }),
  fc.record({ kind: fc.constant('label' as const), at: fc.nat(), type: fc.constantFrom(0x40, 0x80, 0x3f, 0x00) }),
);

function apply(seed: Buffer, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of muts) {
    if (b.length === 0) break;
    switch (m.kind) {
      case 'flip':
        b[m.at % b.length] = m.value;
        break;
      case 'cut':
        b = b.subarray(0, m.at % (b.length + 1));
        break;
      case 'tail':
        b = Buffer.concat([b, m.bytes]);
        break;
      case 'count':
        if (b.length >= 12) b.writeUInt16BE(m.value, 4 + 2 * m.which);
        break;
      case 'pointer':
        if (b.length >= 2) b.writeUInt16BE(0xc000 | m.target, m.at % (b.length - 1));
        break;
      case 'label':
        b[m.at % b.length] = m.type | (b[m.at % b.length]! & 0x3f);
        break;
    }
  }
  return Buffer.from(b);
}

/** Valid seeds damaged by 1 to 4 mutations, or plain random bytes. */
export function hostile(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, m]) => apply(s, m)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)) },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
  );
}

/** How many cases each property runs: FUZZ_RUNS for a long campaign (npm run fuzz), small in CI. */
export function runs(ciDefault: number): number {
  const n = Number(process.env['FUZZ_RUNS']);
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}
