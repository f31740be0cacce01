// Property test over proof selection (issue: DNSSEC transparency). For any signed upstream reply
// to a DO query, positive or negative, wildcard-expanded or not, NSEC or NSEC3, at any depth
// below its zone, with noise mixed in (orphan signatures, another zone's proofs, NS records):
// - every RRSIG we pass covers an RRset we pass in the same section (no orphans);
// - every NSEC/NSEC3 the upstream sent for a wildcard expansion or a denial survives, with its
//   signature (RFC 4035 3.1.3, 3.2.1; RFC 5155 7.2);
// - no proof of a zone that has nothing to prove here survives.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type packet from 'dns-packet';
import { buildAnswer } from '../../src/dns/answer.js';
import { parseReply } from '../../src/dns/message.js';
import { parseQuery } from '../../src/dns/query.js';
import { serveAnswer } from '../../src/dns/serve.js';
import { a, decode, nsec, nsec3, query, replyTo, rrsig, soa, type Rec } from '../helpers/dns-packets.js';
import { runs } from '../helpers/mutations.js';

const label = fc.stringMatching(/^[a-z0-9]{1,10}$/);
const hashLabel = fc.stringMatching(/^[0-9a-v]{32}$/);

const shape = fc.record({
  zoneLabels: fc.array(label, { minLength: 1, maxLength: 3 }),
  /** Labels of the query name below the zone apex (0: the apex itself). */
  below: fc.array(label, { minLength: 0, maxLength: 4 }),
  /** How many of the owner's leftmost labels the wildcard replaced (0: no wildcard). */
  expanded: fc.nat(3),
  negative: fc.boolean(),
  nxdomain: fc.boolean(),
  denial: fc.constantFrom('nsec', 'nsec3'),
  proofs: fc.array(hashLabel, { minLength: 1, maxLength: 3 }),
  noise: fc.array(fc.constantFrom('orphan-sig', 'foreign-proof', 'ns', 'other-name-sig'), { maxLength: 4 }),
  shuffleSeed: fc.nat(),
});

const key = (r: packet.Answer) => `${r.name.toLowerCase()} ${r.type}`;
const coveredOf = (r: packet.Answer) => (r.data as { typeCovered: string }).typeCovered;

describe('DNSSEC proof selection, any signed reply', () => {
  it('passes no orphan signature and loses no needed proof', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const zone = `${s.zoneLabels.join('.')}.test`;
        const qname = [...s.below, zone].join('.');
        const ownerLabels = qname.split('.').length;
        // A wildcard can only stand for labels below the apex.
        const expanded = Math.min(s.expanded, s.below.length);
        const positive = !s.negative;
        // NSEC3 owners are <hash>.<zone> (RFC 5155 3); NSEC owners are names of the zone, here the same shape.
        const proofOwner = (h: string) => `${h}.${zone}`;
        const proofRecs = (ttl: number): Rec[] =>
          s.proofs.flatMap((h) => [
            s.denial === 'nsec3' ? nsec3(h, zone, ['A', 'RRSIG'], ttl) : nsec(proofOwner(h), `zz.${zone}`, ['A', 'RRSIG', 'NSEC'], ttl),
            rrsig(proofOwner(h), s.denial === 'nsec3' ? 'NSEC3' : 'NSEC', zone, { ttl }),
          ]);
        const needProofs = s.negative || expanded > 0;

        const answers: Rec[] = [];
        const authorities: Rec[] = [];
        if (positive) {
          answers.push(a(qname, '192.0.2.1'), rrsig(qname, 'A', zone, { labels: ownerLabels - expanded }));
        } else {
          authorities.push(soa(zone, 3600, 300), rrsig(zone, 'SOA', zone));
        }
        if (needProofs) authorities.push(...proofRecs(300));
        for (const n of s.noise) {
          if (n === 'orphan-sig') answers.push(rrsig(qname, 'AAAA', zone));
          if (n === 'foreign-proof') authorities.push(nsec('a.elsewhere.example', 'b.elsewhere.example', ['A']), rrsig('a.elsewhere.example', 'NSEC', 'elsewhere.example'));
          if (n === 'ns') authorities.push({ type: 'NS', name: zone, ttl: 300, class: 'IN', data: `ns.${zone}` }, rrsig(zone, 'NS', zone));
          if (n === 'other-name-sig') answers.push(rrsig(`other.${zone}`, 'A', zone));
        }
        // Sections in any order: selection must not depend on where the upstream put things.
        const shuffle = <T>(xs: T[]) => xs.map((x, i) => [x, (s.shuffleSeed * (i + 7)) % 101] as const).sort((p, q) => p[1] - q[1]).map((p) => p[0]);
        const m = query(qname, 'A', { edns: { do: true } });
        const raw = replyTo(m, { answers: shuffle(answers), authorities: shuffle(authorities), rcode: s.negative && s.nxdomain ? 'NXDOMAIN' : undefined });
        const v = parseQuery(m);
        if (v.kind !== 'ok') throw new Error('bad query');
        const answer = buildAnswer(parseReply(raw), true, { minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600 });
        const out = decode(serveAnswer(answer, v.query, answer.ttlSec, 65535, 1232));

        for (const section of [out.answers!, out.authorities!]) {
          const rrsets = new Set(section.filter((r) => r.type !== 'RRSIG').map(key));
          for (const sig of section.filter((r) => r.type === 'RRSIG')) {
            expect(rrsets.has(`${sig.name.toLowerCase()} ${coveredOf(sig)}`), `orphan ${key(sig)}/${coveredOf(sig)}`).toBe(true);
          }
        }
        const passed = new Set(out.authorities!.map((r) => `${key(r)}${r.type === 'RRSIG' ? `/${coveredOf(r)}` : ''}`));
        if (needProofs) {
          for (const h of s.proofs) {
            const t = s.denial === 'nsec3' ? 'NSEC3' : 'NSEC';
            expect(passed.has(`${proofOwner(h)} ${t}`), `proof ${h} lost`).toBe(true);
            expect(passed.has(`${proofOwner(h)} RRSIG/${t}`), `signature of proof ${h} lost`).toBe(true);
          }
        } else {
          expect(out.authorities!.filter((r) => r.type === 'NSEC' || r.type === 'NSEC3')).toEqual([]);
        }
        expect([...passed].some((p) => p.includes('elsewhere.example'))).toBe(false);
        expect(out.answers!.map(key).sort()).toEqual(positive ? [`${qname} A`, `${qname} RRSIG`] : []);
      }),
      { numRuns: runs(2000) },
    );
  });
});
