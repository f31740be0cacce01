// The Prometheus exposition (src/control/metrics.ts) from a ControlApi with known numbers: exact
// sample lines, the ms → seconds conversion of the latency histogram, `vrf` on every series, and
// Prometheus' own `promtool check metrics` on the result (test/tools/promtool.sh fetches it).

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS, type Counters } from '../../src/stats.js';
import { METRIC_NAMES, createMetrics } from '../../src/control/metrics.js';
import type { ControlApi, LatencySummary, StatisticsReport, StatusReport, UpstreamStatus } from '../../src/control/types.js';
import { REPO_ROOT } from '../helpers/process.js';
import { ensurePromtool, promtoolCheck as check } from '../helpers/promtool.js';

let promtool = '';
const promtoolCheck = (text: string) => check(promtool, text);

beforeAll(() => {
  promtool = ensurePromtool();
}, 300_000);

const COUNTERS: Counters = {
  queries: 1500, udpQueries: 1400, tcpQueries: 100, cacheHits: 1000, cacheMisses: 420, coalesced: 12, dropped: 3, denied: 7,
  formerr: 5, notimp: 1, refused: 2, servfail: 9, spoofedReplies: 4, mismatchedReplies: 6, upstreamQueries: 433,
  upstreamFailures: 13, tcpFallbacks: 2, staleServed: 8,
};

function upstream(o: Partial<UpstreamStatus> & { server: string }): UpstreamStatus {
  return {
    state: 'healthy', backoffUntil: null, consecutiveFailures: 0, queries: 0, failures: 0, failuresByCode: {}, timeouts: 0,
    tcpFallbacks: 0, rttMs: null, lastError: null, ...o,
  };
}

const UPSTREAMS: UpstreamStatus[] = [
  upstream({ server: '192.0.2.53:53', queries: 420, failures: 2, failuresByCode: { VR_ERR_UPSTREAM_TIMEOUT: 2 }, timeouts: 2, tcpFallbacks: 2, rttMs: 12.5 }),
  upstream({
    server: '[2001:db8::53]:53', state: 'backing-off', backoffUntil: '2025-12-01T10:00:04.000Z', consecutiveFailures: 4,
    queries: 13, failures: 11, failuresByCode: { VR_ERR_UPSTREAM_TIMEOUT: 8, VR_ERR_UPSTREAM_SERVFAIL: 3 }, timeouts: 8, rttMs: null,
    lastError: { code: 'VR_ERR_UPSTREAM_TIMEOUT', at: '2025-12-01T10:00:03.000Z' },
  }),
];

/** Cumulative buckets over LATENCY_BOUNDS_MS from per-bucket counts (the last is +Inf). */
function latency(perBucket: number[], sumMs: number): LatencySummary {
  let total = 0;
  const buckets = [...LATENCY_BOUNDS_MS, '+Inf' as const].map((leMs, i) => ({ leMs, count: (total += perBucket[i] ?? 0) }));
  return { count: total, sumMs, p50Ms: null, p90Ms: null, p99Ms: null, buckets };
}

const CACHE = { enabled: true, entries: 321, bytes: 456_789, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, evictions: 17 };

const STATUS: StatusReport = {
  instance: 'mgmt', version: '0.1.0', pid: 4242, startedAt: '2025-12-01T09:00:00.000Z', uptimeSec: 3600,
  vrf: { name: 'mgmt', ifindex: 7 }, upstreamDevice: 'mgmt', listeners: ['udp 127.0.0.1:53 on mgmt', 'tcp 127.0.0.1:53 on mgmt'],
  configFiles: ['/etc/vrf-resolver/mgmt.conf'], controlSocket: '/run/vrf-resolver/mgmt.sock',
  metrics: 'http://127.0.0.1:9153/metrics on mgmt', logLevel: 'info', upstreams: UPSTREAMS, cache: CACHE, inflight: 3,
};

const STATISTICS: StatisticsReport = {
  instance: 'mgmt', since: '2025-12-01T09:30:00.000Z', counters: COUNTERS,
  responsesByRcode: { NOERROR: 1300, NXDOMAIN: 170, SERVFAIL: 9, REFUSED: 9, FORMERR: 5 },
  queriesByTransport: { udp: 1400, tcp: 100 },
  queriesByType: { A: 800, AAAA: 600, MX: 30, TYPE65534: 5 },
  cache: CACHE, upstreams: UPSTREAMS,
  // hit: 600 at ≤ 0.025 ms, 400 at ≤ 0.05 ms; miss: 20 at ≤ 5 ms, 380 at ≤ 25 ms, 9 at ≤ 5000 ms, 1 above.
  latency: {
    hit: latency([600, 400], 35.5),
    miss: latency([0, 0, 0, 0, 0, 0, 0, 20, 0, 380, 0, 0, 0, 0, 0, 0, 9, 1], 14_250.75),
  },
};

function fakeApi(status: StatusReport = STATUS, statistics: StatisticsReport = STATISTICS): ControlApi & { calls: number } {
  const api = {
    calls: 0,
    status: async () => status,
    statistics: async () => {
      api.calls++;
      return statistics;
    },
    resetStatistics: async () => undefined,
    flushCaches: async () => ({ flushed: 0 }),
    setLogLevel: async (level: StatusReport['logLevel']) => ({ previous: level, level }),
  };
  return api;
}

/** The sample lines (no comments) of an exposition. */
const samples = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('the exposition of one instance', () => {
  it('has the exact sample lines for counters, gauges and labels', async () => {
    const text = await createMetrics(fakeApi(), 'mgmt').render();
    const lines = samples(text);
    for (const expected of [
      'vrf_resolver_dns_requests_total{proto="udp",vrf="mgmt"} 1400',
      'vrf_resolver_dns_requests_total{proto="tcp",vrf="mgmt"} 100',
      'vrf_resolver_dns_requests_by_type_total{type="AAAA",vrf="mgmt"} 600',
      'vrf_resolver_dns_requests_by_type_total{type="TYPE65534",vrf="mgmt"} 5',
      'vrf_resolver_dns_responses_total{rcode="NXDOMAIN",vrf="mgmt"} 170',
      'vrf_resolver_dns_responses_total{rcode="SERVFAIL",vrf="mgmt"} 9',
      'vrf_resolver_dns_requests_denied_total{vrf="mgmt"} 7',
      'vrf_resolver_dns_requests_dropped_total{vrf="mgmt"} 3',
      'vrf_resolver_dns_requests_rejected_total{reason="formerr",vrf="mgmt"} 5',
      'vrf_resolver_dns_requests_rejected_total{reason="notimp",vrf="mgmt"} 1',
      'vrf_resolver_dns_requests_rejected_total{reason="refused",vrf="mgmt"} 2',
      'vrf_resolver_dns_requests_coalesced_total{vrf="mgmt"} 12',
      'vrf_resolver_dns_resolution_failures_total{vrf="mgmt"} 9',
      'vrf_resolver_cache_hits_total{vrf="mgmt"} 1000',
      'vrf_resolver_cache_misses_total{vrf="mgmt"} 420',
      'vrf_resolver_cache_entries{vrf="mgmt"} 321',
      'vrf_resolver_cache_bytes{vrf="mgmt"} 456789',
      'vrf_resolver_cache_max_entries{vrf="mgmt"} 10000',
      'vrf_resolver_cache_max_bytes{vrf="mgmt"} 67108864',
      'vrf_resolver_cache_evictions_total{vrf="mgmt"} 17',
      'vrf_resolver_cache_stale_served_total{vrf="mgmt"} 8',
      'vrf_resolver_upstream_requests_total{to="192.0.2.53:53",vrf="mgmt"} 420',
      'vrf_resolver_upstream_requests_total{to="[2001:db8::53]:53",vrf="mgmt"} 13',
      'vrf_resolver_upstream_failures_total{to="192.0.2.53:53",code="VR_ERR_UPSTREAM_TIMEOUT",vrf="mgmt"} 2',
      'vrf_resolver_upstream_failures_total{to="[2001:db8::53]:53",code="VR_ERR_UPSTREAM_TIMEOUT",vrf="mgmt"} 8',
      'vrf_resolver_upstream_failures_total{to="[2001:db8::53]:53",code="VR_ERR_UPSTREAM_SERVFAIL",vrf="mgmt"} 3',
      'vrf_resolver_upstream_tc_fallbacks_total{to="192.0.2.53:53",vrf="mgmt"} 2',
      'vrf_resolver_upstream_tc_fallbacks_total{to="[2001:db8::53]:53",vrf="mgmt"} 0',
      'vrf_resolver_upstream_rtt_seconds{to="192.0.2.53:53",vrf="mgmt"} 0.0125',
      'vrf_resolver_upstream_healthy{to="192.0.2.53:53",vrf="mgmt"} 1',
      'vrf_resolver_upstream_healthy{to="[2001:db8::53]:53",vrf="mgmt"} 0',
      'vrf_resolver_upstream_spoofed_replies_total{vrf="mgmt"} 4',
      'vrf_resolver_upstream_mismatched_replies_total{vrf="mgmt"} 6',
      'vrf_resolver_inflight{vrf="mgmt"} 3',
      'vrf_resolver_uptime_seconds{vrf="mgmt"} 3600',
      `vrf_resolver_statistics_start_time_seconds{vrf="mgmt"} ${Date.parse('2025-12-01T09:30:00.000Z') / 1000}`,
      `vrf_resolver_build_info{version="0.1.0",nodejs="${process.version}",vrf="mgmt"} 1`,
    ]) {
      expect(lines).toContain(expected);
    }
    // The RTT gauge is absent, not 0, for a server that never answered.
    expect(lines.filter((l) => l.startsWith('vrf_resolver_upstream_rtt_seconds{'))).toHaveLength(1);
  });

  it('turns the ms histogram into a Prometheus histogram in seconds', async () => {
    const lines = samples(await createMetrics(fakeApi(), 'mgmt').render());
    const duration = lines.filter((l) => l.startsWith('vrf_resolver_dns_request_duration_seconds'));
    // Every bound in seconds, cumulative counts, +Inf equal to _count: 2 × (18 buckets + sum + count).
    expect(duration).toHaveLength(2 * (LATENCY_BOUNDS_MS.length + 1 + 2));
    for (const expected of [
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="hit",le="0.000025",vrf="mgmt"} 600',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="hit",le="0.00005",vrf="mgmt"} 1000',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="hit",le="5",vrf="mgmt"} 1000',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="hit",le="+Inf",vrf="mgmt"} 1000',
      'vrf_resolver_dns_request_duration_seconds_sum{cache="hit",vrf="mgmt"} 0.0355',
      'vrf_resolver_dns_request_duration_seconds_count{cache="hit",vrf="mgmt"} 1000',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="miss",le="0.0025",vrf="mgmt"} 0',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="miss",le="0.005",vrf="mgmt"} 20',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="miss",le="0.025",vrf="mgmt"} 400',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="miss",le="2.5",vrf="mgmt"} 400',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="miss",le="5",vrf="mgmt"} 409',
      'vrf_resolver_dns_request_duration_seconds_bucket{cache="miss",le="+Inf",vrf="mgmt"} 410',
      'vrf_resolver_dns_request_duration_seconds_sum{cache="miss",vrf="mgmt"} 14.25075',
      'vrf_resolver_dns_request_duration_seconds_count{cache="miss",vrf="mgmt"} 410',
    ]) {
      expect(duration).toContain(expected);
    }
    // Cumulative: no bucket holds fewer than the one before it.
    for (const cache of ['hit', 'miss']) {
      const counts = duration.filter((l) => l.includes(`_bucket{cache="${cache}"`)).map((l) => Number(l.split(' ')[1]));
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
    }
    const les = duration.filter((l) => l.includes('_bucket{cache="hit"')).map((l) => /le="([^"]+)"/.exec(l)?.[1]);
    expect(les).toEqual([...LATENCY_BOUNDS_MS.map((ms) => String(ms / 1000)), '+Inf']);
  });

  it('labels every series with vrf, "default" in the default VRF', async () => {
    for (const [vrf, label] of [['mgmt', 'mgmt'], [null, 'default']] as const) {
      const lines = samples(await createMetrics(fakeApi(), vrf).render());
      expect(lines.length).toBeGreaterThan(60);
      const unlabelled = lines.filter((l) => !new RegExp(`[{,]vrf="${label}"[,}]`).test(l));
      expect(unlabelled).toEqual([]);
    }
  });

  it('declares every metric of METRIC_NAMES once, with HELP and TYPE', async () => {
    const text = await createMetrics(fakeApi(), 'mgmt').render();
    const typed = [...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)].map((m) => m[1]);
    expect([...typed].sort()).toEqual([...METRIC_NAMES].sort());
    for (const name of METRIC_NAMES) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
  });

  it('reads the instance once per scrape, and again at the next one', async () => {
    let queries = 10;
    const api = fakeApi();
    const stats = () => ({ ...STATISTICS, counters: { ...COUNTERS, denied: queries } });
    api.statistics = () => {
      api.calls++;
      return stats();
    };
    const metrics = createMetrics(api, 'mgmt');
    const first = samples(await metrics.render());
    expect(api.calls).toBe(1);
    queries = 11;
    const second = samples(await metrics.render());
    expect(api.calls).toBe(2);
    expect(first).toContain('vrf_resolver_dns_requests_denied_total{vrf="mgmt"} 10');
    expect(second).toContain('vrf_resolver_dns_requests_denied_total{vrf="mgmt"} 11');
  });

  it('drops the series of an upstream that is gone (a reload), and after statistics --reset', async () => {
    let report: StatisticsReport = STATISTICS;
    const api = fakeApi();
    api.statistics = () => report;
    const metrics = createMetrics(api, 'mgmt');
    expect(await metrics.render()).toContain('to="[2001:db8::53]:53"');
    report = { ...STATISTICS, upstreams: [UPSTREAMS[0]!], responsesByRcode: {}, queriesByType: {} };
    const after = await metrics.render();
    expect(after).not.toContain('to="[2001:db8::53]:53"');
    expect(after).not.toContain('rcode="NXDOMAIN"');
    expect(after).not.toContain('type="AAAA"');
  });

  it('passes promtool check metrics without a complaint', async () => {
    const text = await createMetrics(fakeApi(), 'mgmt').render();
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
  });

  it('promtool does catch a broken exposition (so the check above can fail)', async () => {
    // promtool 2.42 parses the text (exit 1 on a syntax error) and lints it (exit 3); it does
    // not check histogram buckets, which the histogram test above pins line by line.
    const unparsable = await promtoolCheck('vrf_resolver_x_total{vrf="mgmt} 1\n');
    expect(unparsable.code).toBe(1);
    expect(unparsable.output).toContain('text format parsing error');
    const twice = await promtoolCheck('# TYPE vrf_resolver_y gauge\n# TYPE vrf_resolver_y counter\nvrf_resolver_y{vrf="mgmt"} 1\n');
    expect(twice.code).toBe(1);
    expect(twice.output).toContain('second TYPE line');
    const lint = await promtoolCheck('# HELP requests Requests.\n# TYPE requests counter\nrequests{vrf="mgmt"} 1\n');
    expect(lint.code).toBe(3);
    expect(lint.output).toContain('counter metrics should have "_total" suffix');
  });

  it('every metric is documented in the README', () => {
    const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
    const at = readme.indexOf('\n### Metrics\n');
    expect(at).toBeGreaterThan(0);
    const section = readme.slice(at, readme.indexOf('\n## ', at + 1));
    for (const name of METRIC_NAMES) expect(section, name).toContain(`\`${name}`);
  });
});
