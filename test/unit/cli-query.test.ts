// The pieces of `vrf-resolver query` that need no instance: the query it sends, the listener it
// picks, and records in presentation form.
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { nameFromText, stubQuery } from '../../src/dns/stub-query.js';
import { typeNumber } from '../../src/dns/mnemonics.js';
import { replyMatches } from '../../src/dns/message.js';
import { parseListener } from '../../src/cli/query/exchange.js';
import { presentRecord, recordLine } from '../../src/cli/query/present.js';

describe('the query it sends', () => {
  it('names in presentation form become wire form (RFC 1035 5.1 escapes)', () => {
    expect(nameFromText('example.com')).toEqual(Buffer.from('\x07example\x03com\x00', 'latin1'));
    expect(nameFromText('example.com.')).toEqual(nameFromText('example.com'));
    expect(nameFromText('.')).toEqual(Buffer.from([0]));
    expect(nameFromText('a\\.b.c')).toEqual(Buffer.from('\x03a.b\x01c\x00', 'latin1'));
    expect(nameFromText('\\065\\\\.x')).toEqual(Buffer.from('\x02A\\\x01x\x00', 'latin1'));
    expect(nameFromText('a..b')).toMatch(/empty label/);
    expect(nameFromText('')).toMatch(/empty name/);
    expect(nameFromText('x\\256')).toMatch(/not an octet/);
    expect(nameFromText(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`)).toMatch(/longer than 255/);
  });

  it('is one question, class IN, RD=1, EDNS 1232 without DO, and its reply is matched by ID and question', () => {
    const q = stubQuery(nameFromText('Example.com') as Buffer, 65534, 0x1234, 1232);
    const d = dnsPacket.decode(q.msg);
    expect(d.id).toBe(0x1234);
    expect(d.flag_rd).toBe(true);
    expect(d.flag_qr).toBe(false);
    expect(d.questions).toEqual([{ name: 'Example.com', type: 'UNKNOWN_65534', class: 'IN' }]);
    expect(d.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232, flags: 0 })]);
    const reply = Buffer.from(q.msg);
    reply[2]! |= 0x80;
    expect(replyMatches(reply, 0x1234, q.question, 0, q.question.length)).toBe(true);
    expect(replyMatches(reply, 0x1235, q.question, 0, q.question.length)).toBe(false);
  });

  it('types: mnemonics in any case, TYPEnnn, nothing else', () => {
    expect(typeNumber('A')).toBe(1);
    expect(typeNumber('aaaa')).toBe(28);
    expect(typeNumber('Mx')).toBe(15);
    expect(typeNumber('TYPE65534')).toBe(65534);
    expect(typeNumber('type1')).toBe(1);
    expect(typeNumber('TYPE0')).toBeNull();
    expect(typeNumber('TYPE65536')).toBeNull();
    expect(typeNumber('UNKNOWN_5')).toBeNull();
    expect(typeNumber('*')).toBeNull();
    expect(typeNumber('example')).toBeNull();
  });
});

describe('the listener it asks', () => {
  it('reads the status report\'s labels; a wildcard listener is asked on loopback', () => {
    expect(parseListener('udp 127.0.0.1:53 on mgmt')).toEqual({ transport: 'udp', family: 4, address: '127.0.0.1', port: 53 });
    expect(parseListener('tcp [::1]:5353 on mgmt')).toEqual({ transport: 'tcp', family: 6, address: '::1', port: 5353 });
    expect(parseListener('udp 127.0.0.53:53')).toEqual({ transport: 'udp', family: 4, address: '127.0.0.53', port: 53 });
    expect(parseListener('udp 127.0.0.1:53 on mgmt (from systemd, dns)')).toMatchObject({ address: '127.0.0.1', port: 53 });
    expect(parseListener('udp 0.0.0.0:53')).toMatchObject({ family: 4, address: '127.0.0.1' });
    expect(parseListener('tcp [::]:53')).toMatchObject({ family: 6, address: '::1' });
    expect(parseListener('http 127.0.0.1:9153')).toBeNull();
  });
});

describe('records in presentation form', () => {
  const reply = dnsPacket.encode({
    type: 'response', id: 1, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'example.com', type: 'A', class: 'IN' }],
    answers: [
      { name: 'www.example.com', type: 'CNAME', ttl: 60, data: 'example.com' },
      { name: 'example.com', type: 'A', ttl: 300, data: '192.0.2.1' },
      { name: 'example.com', type: 'AAAA', ttl: 300, data: '2001:db8::1' },
      { name: 'example.com', type: 'MX', ttl: 300, data: { preference: 10, exchange: 'mx.example.com' } },
      { name: 'example.com', type: 'TXT', ttl: 300, data: ['v=spf1 -all', 'say "hi"\\', Buffer.from([0x07])] },
      { name: 'example.com', type: 'SOA', ttl: 300, data: { mname: 'ns.example.com', rname: 'hostmaster.example.com', serial: 2026050101, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 } },
      { name: '_sip._tcp.example.com', type: 'SRV', ttl: 300, data: { priority: 10, weight: 5, port: 5060, target: 'sip.example.com' } },
      { name: 'example.com', type: 'CAA', ttl: 300, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } },
      { name: 'example.com', type: 'DS', ttl: 300, data: { keyTag: 12345, algorithm: 13, digestType: 2, digest: Buffer.from('abcd', 'hex') } },
      { name: 'example.com', type: 'UNKNOWN_65534' as 'A', ttl: 300, data: Buffer.from([1, 2, 0xff]) as unknown as string },
    ],
  });
  const lines = (dnsPacket.decode(reply).answers ?? []).map((a) => recordLine(presentRecord(a)));

  it('writes each type as its RFC does, owner names fully qualified', () => {
    expect(lines).toEqual([
      'www.example.com.\t60\tIN\tCNAME\texample.com.',
      'example.com.\t300\tIN\tA\t192.0.2.1',
      'example.com.\t300\tIN\tAAAA\t2001:db8::1',
      'example.com.\t300\tIN\tMX\t10 mx.example.com.',
      'example.com.\t300\tIN\tTXT\t"v=spf1 -all" "say \\"hi\\"\\\\" "\\007"',
      'example.com.\t300\tIN\tSOA\tns.example.com. hostmaster.example.com. 2026050101 7200 3600 1209600 300',
      '_sip._tcp.example.com.\t300\tIN\tSRV\t10 5 5060 sip.example.com.',
      'example.com.\t300\tIN\tCAA\t0 issue "letsencrypt.org"',
      'example.com.\t300\tIN\tDS\t12345 13 2 ABCD',
      'example.com.\t300\tIN\tTYPE65534\t\\# 3 0102FF',
    ]);
  });

  it('keeps the fields --json prints', () => {
    const first = presentRecord((dnsPacket.decode(reply).answers ?? [])[1]!);
    expect(first).toEqual({ name: 'example.com.', ttl: 300, class: 'IN', type: 'A', data: '192.0.2.1' });
  });
});
