// ServerSelection=rtt in upstream/health.ts, with a manual clock: the fastest measured server
// first, unmeasured servers before all (so each is measured), a timeout counted as the time waited, every
// PROBE_EVERY-th order led by another ready server in turn, and backoff still first of all.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { PROBE_EVERY, UpstreamHealth } from '../../src/upstream/health.js';
import { toUpstreamServer } from '../../src/upstream/server.js';

const servers = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((address) => toUpstreamServer({ family: 4, address, port: 53 }));
const labels = (list: ReturnType<UpstreamHealth['order']>) => list.map((s) => s.label.slice(8, 9)); // "1", "2", "3"

describe('health: ServerSelection=rtt', () => {
  it('ordered keeps the configured order whatever the RTTs', () => {
    const h = new UpstreamHealth(servers, new ManualClock());
    h.success(servers[2]!, 5);
    h.success(servers[0]!, 300);
    expect(labels(h.order())).toEqual(['1', '2', '3']);
    expect(labels(h.order('ordered'))).toEqual(['1', '2', '3']);
  });

  it('rtt puts an unmeasured server first (to measure it), then the fastest', () => {
    const h = new UpstreamHealth(servers, new ManualClock());
    h.success(servers[0]!, 400);
    h.success(servers[2]!, 20);
    expect(labels(h.order('rtt'))).toEqual(['2', '3', '1']);
    h.success(servers[1]!, 100);
    expect(labels(h.order('rtt'))).toEqual(['3', '2', '1']);
  });

  it('a timeout counts as the time waited, so a server that stopped answering sinks', () => {
    const h = new UpstreamHealth(servers, new ManualClock());
    for (const s of servers) h.success(s, 30);
    h.success(servers[1]!, 10);
    expect(labels(h.order('rtt'))[0]).toBe('2');
    h.failure(servers[1]!, 'VR_ERR_UPSTREAM_TIMEOUT', 1500);
    expect(labels(h.order('rtt'))).toEqual(['1', '3', '2']);
    h.failure(servers[0]!, 'VR_ERR_UPSTREAM_SERVFAIL', 1500); // an answer, not a round trip lost
    expect(labels(h.order('rtt'))[0]).toBe('1');
  });

  it(`every ${PROBE_EVERY}th order another ready server leads, in turn, so a recovered server is measured again`, () => {
    const h = new UpstreamHealth(servers, new ManualClock());
    h.success(servers[0]!, 10);
    h.success(servers[1]!, 50);
    h.success(servers[2]!, 90);
    const leaders: string[] = [];
    for (let i = 1; i <= 3 * PROBE_EVERY; i++) leaders.push(labels(h.order('rtt'))[0]!);
    expect(leaders.filter((l) => l !== '1')).toEqual(['2', '3', '2']);
    expect(leaders[PROBE_EVERY - 1]).toBe('2');
    expect(leaders[2 * PROBE_EVERY - 1]).toBe('3');
  });

  it('a server backing off comes after the ready ones, however fast it was', () => {
    const clock = new ManualClock();
    const h = new UpstreamHealth(servers, clock);
    h.success(servers[0]!, 1);
    h.success(servers[1]!, 100);
    h.success(servers[2]!, 200);
    for (let i = 0; i < 3; i++) h.failure(servers[0]!, 'VR_ERR_UPSTREAM_REFUSED');
    expect(labels(h.order('rtt'))).toEqual(['2', '3', '1']);
    clock.advance(1000);
    expect(labels(h.order('rtt'))[0]).toBe('1');
  });
});
