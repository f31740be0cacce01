// How the control plane sums the workers of Workers= (control/api.ts, stats.ts): counters and
// histograms add up exactly, and each upstream server is one line over every worker's health.
import { describe, expect, it } from 'vitest';
import { mergeUpstreams } from '../../src/control/api.js';
import type { UpstreamStatus } from '../../src/control/types.js';
import { addStats, countQtype, countRcode, counters, newStats, statsData } from '../../src/stats.js';

const server = (o: Partial<UpstreamStatus> & { server: string }): UpstreamStatus => ({
  state: 'healthy', backoffUntil: null, consecutiveFailures: 0, queries: 0, failures: 0, failuresByCode: {}, timeouts: 0,
  tcpFallbacks: 0, rttMs: null, lastError: null, ...o,
});

describe('summing workers', () => {
  it('adds counters, rcodes, qtypes (high ones too) and latency histograms', () => {
    const one = newStats();
    const two = newStats();
    one.queries = 3; one.cacheHits = 2; two.queries = 5; two.cacheMisses = 4;
    countRcode(one, 0); countRcode(two, 3); countRcode(two, 3);
    countQtype(one, 1); countQtype(two, 28); countQtype(two, 65534); countQtype(one, 65534);
    one.hitLatency.observe(0.02); two.missLatency.observe(7); two.missLatency.observe(30);
    const sum = newStats();
    // Through statsData, as a worker's counters cross the thread boundary.
    addStats(sum, structuredClone(statsData(one)));
    addStats(sum, structuredClone(statsData(two)));
    expect(counters(sum)).toMatchObject({ queries: 8, cacheHits: 2, cacheMisses: 4 });
    expect([sum.rcodes[0], sum.rcodes[3]]).toEqual([1, 2]);
    expect([sum.qtypes[1], sum.qtypes[28], sum.qtypesHigh.get(65534)]).toEqual([1, 1, 2]);
    expect([sum.hitLatency.count, sum.missLatency.count, sum.missLatency.sumMs]).toEqual([1, 2, 37]);
    expect(sum.missLatency.quantile(0.99)).toBeGreaterThan(25);
  });

  it('one line per server: counts add up, backing off in any worker shows, RTT is the mean, the last error the latest', () => {
    const a = [server({ server: 'u1', queries: 10, failures: 1, failuresByCode: { VR_ERR_UPSTREAM_TIMEOUT: 1 }, timeouts: 1, rttMs: 2,
      lastError: { code: 'VR_ERR_UPSTREAM_TIMEOUT', at: '2026-12-01T10:00:00.000Z' } }), server({ server: 'u2', queries: 1 })];
    const b = [server({ server: 'u1', queries: 5, failures: 3, failuresByCode: { VR_ERR_UPSTREAM_TIMEOUT: 2, VR_ERR_UPSTREAM_REFUSED: 1 },
      timeouts: 2, rttMs: 4, state: 'backing-off', backoffUntil: '2026-12-01T10:05:00.000Z', consecutiveFailures: 3,
      lastError: { code: 'VR_ERR_UPSTREAM_REFUSED', at: '2026-12-01T10:01:00.000Z' } }), server({ server: 'u2', queries: 2 })];
    const [u1, u2] = mergeUpstreams([a, b]);
    expect(u1).toEqual({
      server: 'u1', state: 'backing-off', backoffUntil: '2026-12-01T10:05:00.000Z', consecutiveFailures: 3, queries: 15, failures: 4,
      failuresByCode: { VR_ERR_UPSTREAM_TIMEOUT: 3, VR_ERR_UPSTREAM_REFUSED: 1 }, timeouts: 3, tcpFallbacks: 0, rttMs: 3,
      lastError: { code: 'VR_ERR_UPSTREAM_REFUSED', at: '2026-12-01T10:01:00.000Z' },
    });
    expect(u2).toMatchObject({ server: 'u2', queries: 3, state: 'healthy', rttMs: null });
    expect(mergeUpstreams([a])).toEqual(a); // one worker: as it is
  });
});
