// The control protocol's request checks (control/protocol.ts), names typed by operators
// (dns/name.ts textToKey), and the fixed-bucket latency histogram (stats.ts).
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/control/protocol.js';
import { textToKey, lowerKey } from '../../src/dns/name.js';
import { LatencyHistogram, LATENCY_BOUNDS_MS } from '../../src/stats.js';

describe('parseRequest', () => {
  it('accepts every command with its fields', () => {
    expect(parseRequest('{"v":1,"id":1,"command":"status"}')).toEqual({ ok: true, id: 1, request: { command: 'status' } });
    expect(parseRequest('{"v":1,"id":"x","command":"statistics","reset":true}')).toMatchObject({ ok: true, id: 'x', request: { reset: true } });
    expect(parseRequest('{"v":1,"command":"statistics"}')).toMatchObject({ ok: true, id: null, request: { reset: false } });
    expect(parseRequest('{"v":1,"command":"flush-caches","name":"a.example"}')).toMatchObject({ request: { command: 'flush-caches', name: 'a.example' } });
    expect(parseRequest('{"v":1,"command":"log-level","level":"debug"}')).toMatchObject({ request: { level: 'debug' } });
    expect(parseRequest('{"v":1,"command":"cache-lookup","name":"a","type":28}')).toMatchObject({ request: { type: 28 } });
  });

  it('refuses, with a message that says what is accepted, anything else', () => {
    const msg = (line: string) => {
      const p = parseRequest(line);
      if (p.ok) throw new Error('accepted');
      return p.message;
    };
    expect(msg('not json')).toMatch(/one JSON object per line/);
    expect(msg('[1]')).toMatch(/JSON object/);
    expect(msg('{"id":1,"command":"status"}')).toMatch(/protocol version/);
    expect(msg('{"v":1,"command":"reboot"}')).toMatch(/unknown command "reboot"; commands: status, statistics/);
    expect(msg('{"v":1,"command":"status","extra":1}')).toMatch(/unknown field extra/);
    expect(msg('{"v":1,"command":"log-level","level":"loud"}')).toMatch(/one of fatal, error/);
    expect(msg('{"v":1,"command":"statistics","reset":"yes"}')).toMatch(/true or false/);
    expect(msg('{"v":1,"command":"cache-lookup","name":"a","type":70000}')).toMatch(/1 to 65535/);
    expect(msg('{"v":1,"command":"flush-caches","name":""}')).toMatch(/domain name/);
  });
});

describe('textToKey', () => {
  const wire = (...labels: string[]) => lowerKey(Buffer.from([...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0]));
  it('reads presentation names, any case, with or without the final dot, and escapes (RFC 1035 5.1)', () => {
    expect(textToKey('WWW.Example.COM')).toBe(wire('www', 'example', 'com'));
    expect(textToKey('www.example.com.')).toBe(wire('www', 'example', 'com'));
    expect(textToKey('a\\.b.example')).toBe(wire('a.b', 'example'));
    expect(textToKey('\\065.example')).toBe(wire('a', 'example'));
    expect(textToKey('.')).toBe('\x00');
  });
  it('refuses empty labels, labels over 63 and names over 255 octets', () => {
    expect(textToKey('a..b')).toBeNull();
    expect(textToKey('.a')).toBeNull();
    expect(textToKey(`${'x'.repeat(64)}.example`)).toBeNull();
    expect(textToKey(Array.from({ length: 50 }, () => 'abcdef').join('.'))).toBeNull();
  });
});

describe('LatencyHistogram', () => {
  it('puts each observation in its bucket and interpolates quantiles inside buckets, as histogram_quantile does', () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.5)).toBeNull();
    for (let i = 0; i < 90; i++) h.observe(0.01); // first bucket (≤ 0.025 ms)
    for (let i = 0; i < 10; i++) h.observe(40); // (25, 50] ms
    expect(h.count).toBe(100);
    expect(h.counts[0]).toBe(90);
    expect(h.counts[LATENCY_BOUNDS_MS.indexOf(50)]).toBe(10);
    expect(h.quantile(0.5)).toBeCloseTo(0.025 * (50 / 90), 6);
    expect(h.quantile(0.99)).toBeCloseTo(25 + 25 * (9 / 10), 6);
    h.observe(1e6); // past the last bound: +Inf, reported as the last bound
    expect(h.counts.at(-1)).toBe(1);
    expect(h.quantile(1)).toBe(5000);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.counts.every((c) => c === 0)).toBe(true);
  });
});
