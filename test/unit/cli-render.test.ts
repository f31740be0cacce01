// The human output of status and statistics, from report objects (no instance, no socket).
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/cli/render/status.js';
import { renderStatistics } from '../../src/cli/render/statistics.js';
import { formatBytes, formatDuration, formatMs, render } from '../../src/cli/render/layout.js';
import type { CacheStatus, LatencySummary, StatisticsReport, StatusReport, UpstreamStatus } from '../../src/control/types.js';
import { counters, newStats } from '../../src/stats.js';

const healthy: UpstreamStatus = {
  server: '192.0.2.53:53', state: 'healthy', backoffUntil: null, consecutiveFailures: 0, queries: 340, failures: 2,
  failuresByCode: { VR_ERR_UPSTREAM_TIMEOUT: 2 }, timeouts: 2, tcpFallbacks: 1, rttMs: 12.345,
  lastError: { code: 'VR_ERR_UPSTREAM_TIMEOUT', at: '2026-05-01T09:59:00.000Z' },
};
const backingOff: UpstreamStatus = {
  server: '[2001:db8::53]:53', state: 'backing-off', backoffUntil: '2026-05-01T10:00:03.000Z', consecutiveFailures: 3,
  queries: 7, failures: 7, failuresByCode: { VR_ERR_UPSTREAM_NETWORK: 7 }, timeouts: 0, tcpFallbacks: 0, rttMs: null,
  lastError: { code: 'VR_ERR_UPSTREAM_NETWORK', at: '2026-05-01T10:00:02.000Z' },
};
const cache: CacheStatus = { enabled: true, entries: 120, bytes: 46_285, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, evictions: 4 };

const status: StatusReport = {
  instance: 'mgmt', version: '0.1.0', pid: 4242, startedAt: '2026-05-01T08:57:56.000Z', uptimeSec: 3727,
  vrf: { name: 'mgmt', ifindex: 5 }, upstreamDevice: 'mgmt',
  listeners: ['udp 127.0.0.1:53 on mgmt', 'tcp 127.0.0.1:53 on mgmt'],
  configFiles: ['/etc/vrf-resolver/mgmt.conf', '/etc/vrf-resolver/mgmt.conf.d/50-dhcp.conf'],
  controlSocket: '/run/vrf-resolver/mgmt.sock', metrics: null, logLevel: 'info',
  upstreams: [healthy, backingOff], cache, inflight: 3,
};

const latency = (count: number, p50: number | null): LatencySummary =>
  ({ count, sumMs: count * (p50 ?? 0), p50Ms: p50, p90Ms: p50 === null ? null : p50 * 2, p99Ms: p50 === null ? null : p50 * 4, buckets: [] });

function statistics(extra: Record<string, number> = {}): StatisticsReport {
  const c = { ...counters(newStats()), queries: 1234, udpQueries: 1200, tcpQueries: 34, cacheHits: 900, cacheMisses: 334, servfail: 5, ...extra };
  return {
    instance: 'mgmt', since: '2026-05-01T08:57:56.000Z', counters: c as StatisticsReport['counters'],
    responsesByRcode: { NOERROR: 1100, NXDOMAIN: 129, SERVFAIL: 5 }, queriesByTransport: { udp: 1200, tcp: 34 },
    queriesByType: { A: 800, AAAA: 400, TYPE65534: 34 }, cache, upstreams: [healthy, backingOff],
    latency: { hit: latency(900, 0.031), miss: latency(0, null) },
  };
}

describe('status, for people', () => {
  const t = renderStatus(status);

  it('one block per instance, keys aligned on their colons as resolvectl does', () => {
    const lines = t.trimEnd().split('\n');
    expect(lines[0]).toBe('Instance mgmt');
    const colons = lines.slice(1).filter((l) => /^ *[A-Z][A-Za-z ]*: /.test(l)).map((l) => l.indexOf(': '));
    expect(new Set(colons).size).toBe(1);
    expect(t).toMatch(/^ +Listeners: udp 127\.0\.0\.1:53 on mgmt\n +tcp 127\.0\.0\.1:53 on mgmt$/m);
  });

  it('shows version, uptime, devices, config files, upstream health, cache and in-flight questions', () => {
    expect(t).toMatch(/Version: 0\.1\.0 \(pid 4242\)/);
    expect(t).toMatch(/Uptime: 1h 2m 7s \(since 2026-05-01T08:57:56\.000Z\)/);
    expect(t).toMatch(/VRF: mgmt \(ifindex 5\)/);
    expect(t).toMatch(/Upstream device: mgmt/);
    expect(t).toContain('/etc/vrf-resolver/mgmt.conf.d/50-dhcp.conf');
    expect(t).toContain('192.0.2.53:53: healthy, RTT 12.3 ms, 2 failures (0 in a row), last error VR_ERR_UPSTREAM_TIMEOUT at 2026-05-01T09:59:00.000Z');
    expect(t).toContain('[2001:db8::53]:53: backing off until 2026-05-01T10:00:03.000Z, RTT -, 7 failures (3 in a row), last error VR_ERR_UPSTREAM_NETWORK');
    expect(t).toMatch(/Cache: 120 entries, 45 KiB \(limits 10000 entries, 64 MiB\)/);
    expect(t).toMatch(/In flight: 3 questions/);
    expect(t).toMatch(/Metrics: off/);
  });

  it('the default VRF, a disabled cache and no config file read plainly', () => {
    const d = renderStatus({ ...status, vrf: { name: null, ifindex: null }, upstreamDevice: null, configFiles: [], cache: { ...cache, enabled: false } });
    expect(d).toMatch(/VRF: none \(default VRF\)/);
    expect(d).toMatch(/Cache: off/);
    expect(d).toMatch(/Config files: none/);
  });
});

describe('statistics, for people', () => {
  it('shows every counter, answers by rcode, queries by transport and type, evictions, per-server figures, latency', () => {
    const r = statistics();
    const t = renderStatistics(r);
    expect(t.split('\n')[0]).toBe('Instance mgmt, counting since 2026-05-01T08:57:56.000Z');
    for (const h of ['Queries', 'Replies', 'Cache', 'Upstream', 'Latency']) expect(t).toMatch(new RegExp(`^${h}$`, 'm'));
    expect(t).toMatch(/ Total: 1234$/m);
    expect(t).toMatch(/ Over UDP: 1200$/m);
    expect(t).toMatch(/ Over TCP: 34$/m);
    expect(t).toMatch(/By type: A 800, AAAA 400, TYPE65534 34/);
    expect(t).toMatch(/By rcode: NOERROR 1100, NXDOMAIN 129, SERVFAIL 5/);
    expect(t).toMatch(/Evictions: 4/);
    expect(t).toContain('192.0.2.53:53: 340 queries, 2 failures, 2 timeouts, 1 TC fallback, RTT 12.3 ms');
    expect(t).toMatch(/Cache hits: p50 0\.031 ms, p90 0\.062 ms, p99 0\.124 ms \(900 answers\)/);
    expect(t).toMatch(/Cache misses: none yet/);
    expect(t).not.toMatch(/^Other$/m);
    // Every counter has a line; none is shown twice.
    const keyLines = t.split('\n').filter((l) => /^ *[^ ].*: \d+$/.test(l));
    expect(keyLines.length).toBeGreaterThanOrEqual(Object.keys(r.counters).length);
  });

  it('a counter it has no label for yet is still shown, under Other', () => {
    const t = renderStatistics(statistics({ brandNewCounter: 7 }));
    expect(t).toMatch(/^Other\n +brandNewCounter: 7$/m);
  });
});

describe('layout helpers', () => {
  it('format bytes, durations and milliseconds', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(93784)).toBe('1d 2h 3m 4s');
    expect(formatDuration(3600)).toBe('1h 0m 0s');
    expect(formatMs(null)).toBe('-');
    expect(formatMs(0.0314159)).toBe('0.0314 ms');
    expect(formatMs(1234.5)).toBe('1235 ms');
  });

  it('continues a value of several lines under its first', () => {
    expect(render([{ header: 'H' }, { key: 'A', value: ['1', '2'] }, { key: 'Long key', value: 'x' }]))
      .toBe('H\n       A: 1\n          2\nLong key: x\n');
  });
});
