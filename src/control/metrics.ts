// The Prometheus exposition of one instance, and the metrics listener that serves it (Metrics=).
// Every value is read from the ControlApi when a scraper asks: one status() and one statistics()
// per scrape, so the series of one scrape agree with each other and the hot path never learns
// that metrics exist. Names follow CoreDNS (coredns_dns_requests_total ...) with our prefix, and
// every series carries `vrf`, so scrapes of several instances never collide. The README section
// "Metrics" lists them; a unit test keeps the two in step.

import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { Logger } from 'pino';
import type { Endpoint } from '../config/types.js';
import type { SocketFactory } from '../net/socket-factory.js';
import { serveMetricsHttp, type Exposition, type MetricsListener } from './metrics-http.js';
import type { ControlApi, LatencySummary, StatisticsReport, StatusReport } from './types.js';

export type { MetricsListener } from './metrics-http.js';

/** What one scrape reads. */
interface Snapshot {
  readonly status: StatusReport;
  readonly stats: StatisticsReport;
}

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels, value: number];

/** One metric family whose values are already counted elsewhere: read, never observed here. */
interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly labelNames?: readonly string[];
  readonly samples: (s: Snapshot) => readonly Sample[];
}

const value = (v: number): Sample[] => [[{}, v]];
const byKey = (label: string, counts: Readonly<Record<string, number>>): Sample[] =>
  Object.entries(counts).map(([k, n]) => [{ [label]: k }, n]);

const FAMILIES: readonly Family[] = [
  // The instance.
  { name: 'vrf_resolver_build_info', type: 'gauge', labelNames: ['version', 'nodejs'],
    help: 'Always 1; its labels say which vrf-resolver and Node.js versions run this instance.',
    samples: (s) => [[{ version: s.status.version, nodejs: process.version }, 1]] },
  { name: 'vrf_resolver_uptime_seconds', type: 'gauge', help: 'Seconds since the instance started.',
    samples: (s) => value(s.status.uptimeSec) },
  { name: 'vrf_resolver_statistics_start_time_seconds', type: 'gauge',
    help: 'Unix time the counters started from zero: the start of the instance or the last statistics --reset.',
    samples: (s) => value(Date.parse(s.stats.since) / 1000) },
  { name: 'vrf_resolver_inflight', type: 'gauge', help: 'Distinct questions waiting on upstream servers now (bounded by MaxInflight=).',
    samples: (s) => value(s.status.inflight) },

  // Workers= above 1: the series above are sums over the workers; these show each (0 is the main thread).
  { name: 'vrf_resolver_worker_dns_requests_total', type: 'counter', labelNames: ['worker'],
    help: 'Queries received by each worker (Workers= above 1; absent with one). Starts from zero when the worker is started again.',
    samples: (s) => (s.stats.workers ?? []).flatMap((w): Sample[] => (w.counters === null ? [] : [[{ worker: String(w.worker) }, w.counters.queries]])) },
  { name: 'vrf_resolver_worker_restarts_total', type: 'counter', labelNames: ['worker'],
    help: 'Times each worker stopped unexpectedly, or hung and was stopped, and was started again (Workers= above 1; absent with one).',
    samples: (s) => (s.stats.workers ?? []).map((w) => [{ worker: String(w.worker) }, w.restarts]) },

  // Queries and replies.
  { name: 'vrf_resolver_dns_requests_total', type: 'counter', labelNames: ['proto'],
    help: 'Queries received, by transport (udp, tcp); denied, dropped and rejected ones included.',
    samples: (s) => byKey('proto', s.stats.queriesByTransport) },
  { name: 'vrf_resolver_dns_requests_by_type_total', type: 'counter', labelNames: ['type'],
    help: 'Queries looked up (allowed by AllowFrom= and past the wire checks), by question type (A, AAAA, TYPE65534 ...).',
    samples: (s) => byKey('type', s.stats.queriesByType) },
  { name: 'vrf_resolver_dns_responses_total', type: 'counter', labelNames: ['rcode'],
    help: 'Replies sent, by RCODE name (NOERROR, NXDOMAIN, SERVFAIL ...).',
    samples: (s) => byKey('rcode', s.stats.responsesByRcode) },
  { name: 'vrf_resolver_dns_requests_denied_total', type: 'counter',
    help: 'Queries from clients outside AllowFrom=, refused or dropped as DenyAction= says.',
    samples: (s) => value(s.stats.counters.denied) },
  { name: 'vrf_resolver_dns_requests_dropped_total', type: 'counter',
    help: 'Queries not answered at all: shorter than a header, over 4096 octets, or QR=1.',
    samples: (s) => value(s.stats.counters.dropped) },
  { name: 'vrf_resolver_dns_requests_rejected_total', type: 'counter', labelNames: ['reason'],
    help: 'Queries answered with an error without a lookup: formerr (malformed, or BADVERS for EDNS version > 0), notimp (opcode not QUERY), refused (AXFR, IXFR, class not IN).',
    samples: (s) => [
      [{ reason: 'formerr' }, s.stats.counters.formerr],
      [{ reason: 'notimp' }, s.stats.counters.notimp],
      [{ reason: 'refused' }, s.stats.counters.refused],
    ] },
  { name: 'vrf_resolver_dns_requests_coalesced_total', type: 'counter',
    help: 'Cache misses that joined an upstream query already in flight for the same question.',
    samples: (s) => value(s.stats.counters.coalesced) },
  { name: 'vrf_resolver_dns_resolution_failures_total', type: 'counter',
    help: 'Queries this resolver answered SERVFAIL: no upstream answered within QueryTimeoutMs=, MaxInflight= was reached, or a recent failure was remembered (RFC 9520).',
    samples: (s) => value(s.stats.counters.servfail) },

  // The cache.
  { name: 'vrf_resolver_cache_hits_total', type: 'counter', help: 'Queries answered from the cache (remembered failures included).',
    samples: (s) => value(s.stats.counters.cacheHits) },
  { name: 'vrf_resolver_cache_misses_total', type: 'counter', help: 'Queries the cache could not answer.',
    samples: (s) => value(s.stats.counters.cacheMisses) },
  { name: 'vrf_resolver_cache_entries', type: 'gauge', help: 'Answers (and remembered failures) in the cache now.',
    samples: (s) => value(s.stats.cache.entries) },
  { name: 'vrf_resolver_cache_bytes', type: 'gauge', help: 'Memory the cached answers take as the cache counts it: wire bytes plus per-entry overhead.',
    samples: (s) => value(s.stats.cache.bytes) },
  { name: 'vrf_resolver_cache_max_entries', type: 'gauge', help: 'CacheMaxEntries=: the most answers the cache keeps.',
    samples: (s) => value(s.stats.cache.maxEntries) },
  { name: 'vrf_resolver_cache_max_bytes', type: 'gauge', help: 'CacheMaxMiB= in bytes: the most memory the cached answers may take.',
    samples: (s) => value(s.stats.cache.maxBytes) },
  { name: 'vrf_resolver_cache_evictions_total', type: 'counter', help: 'Entries removed to make room (least recently used first).',
    samples: (s) => value(s.stats.cache.evictions) },
  { name: 'vrf_resolver_cache_stale_served_total', type: 'counter',
    help: 'Expired answers served because their refresh failed or was slow (RFC 8767, ServeStaleSec=).',
    samples: (s) => value(s.stats.counters.staleServed) },
  { name: 'vrf_resolver_cache_prefetches_total', type: 'counter',
    help: 'Answers refreshed in the background before they expired, because they were asked for in their last tenth (Prefetch=).',
    samples: (s) => value(s.stats.counters.prefetches) },

  // Upstream servers, labelled `to` as CoreDNS's forward plugin does ("192.0.2.53:53").
  { name: 'vrf_resolver_upstream_requests_total', type: 'counter', labelNames: ['to'],
    help: 'Exchanges with each upstream server (a TCP retry after TC=1 counts again).',
    samples: (s) => s.stats.upstreams.map((u) => [{ to: u.server }, u.queries]) },
  { name: 'vrf_resolver_upstream_failures_total', type: 'counter', labelNames: ['to', 'code'],
    help: 'Failed exchanges with each upstream server, by error code (VR_ERR_UPSTREAM_TIMEOUT ...).',
    samples: (s) => s.stats.upstreams.flatMap((u) => Object.entries(u.failuresByCode).map(([code, n]): Sample => [{ to: u.server, code }, n])) },
  { name: 'vrf_resolver_upstream_tc_fallbacks_total', type: 'counter', labelNames: ['to'],
    help: 'Truncated (TC=1) UDP replies from each upstream server, asked again over TCP.',
    samples: (s) => s.stats.upstreams.map((u) => [{ to: u.server }, u.tcpFallbacks]) },
  { name: 'vrf_resolver_upstream_rtt_seconds', type: 'gauge', labelNames: ['to'],
    help: 'Smoothed round-trip time of each upstream server (RFC 6298 SRTT); absent until it first answers.',
    samples: (s) => s.stats.upstreams.flatMap((u): Sample[] => (u.rttMs === null ? [] : [[{ to: u.server }, u.rttMs / 1000]])) },
  { name: 'vrf_resolver_upstream_healthy', type: 'gauge', labelNames: ['to'],
    help: '1 while the upstream server is tried in its turn, 0 while it backs off after consecutive failures and is tried after the others.',
    samples: (s) => s.stats.upstreams.map((u) => [{ to: u.server }, u.state === 'healthy' ? 1 : 0]) },
  { name: 'vrf_resolver_upstream_spoofed_replies_total', type: 'counter',
    help: 'Upstream datagrams from an address or port no query went to, ignored (RFC 5452).',
    samples: (s) => value(s.stats.counters.spoofedReplies) },
  { name: 'vrf_resolver_upstream_mismatched_replies_total', type: 'counter',
    help: 'Upstream datagrams from the right server with a wrong ID or question, ignored (RFC 5452).',
    samples: (s) => value(s.stats.counters.mismatchedReplies) },
];

const DURATION = 'vrf_resolver_dns_request_duration_seconds';
const DURATION_HELP =
  'Time from a query\'s arrival to its reply; cache="hit" for answers and remembered failures from the cache, "miss" for the rest (coalesced and stale answers included).';

/** The families' names, the histogram's included: what the README must list. */
export const METRIC_NAMES: readonly string[] = [...FAMILIES.map((f) => f.name), DURATION];

/**
 * A dedicated registry (never prom-client's global one: two instances in one process, as in the
 * tests, must not share series) whose collectors read the scrape's snapshot. render() is one
 * scrape: the whole exposition from a fresh status() and statistics(), in Prometheus' text
 * format 0.0.4 (contentType).
 */
export function createMetrics(api: ControlApi, vrf: string | null): Exposition {
  const registry = new Registry();
  registry.setDefaultLabels({ vrf: vrf ?? 'default' });
  let current: Snapshot | null = null;
  const snapshot = (): Snapshot => {
    if (current === null) throw new Error('metrics collected outside a scrape');
    return current;
  };
  for (const f of FAMILIES) register(registry, f, snapshot);
  // prom-client's registry prints any metric object of this shape; its types list only its own
  // classes, hence the cast (see latencyHistogram for why the class would not do).
  registry.registerMetric(latencyHistogram(snapshot) as unknown as Metric);

  const scrape = async (): Promise<string> => {
    const [status, stats] = await Promise.all([api.status(), api.statistics()]);
    current = { status, stats };
    try {
      return await registry.metrics();
    } finally {
      current = null;
    }
  };
  // One scrape at a time: collectors fill shared per-metric state, so two interleaved scrapes
  // could mix their snapshots. Scrapes take well under a millisecond; the queue stays short.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    contentType: registry.contentType,
    render(): Promise<string> {
      const run = queue.then(scrape);
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * prom-client's own Counter and Gauge, filled at scrape time by collect(). reset() first: a
 * label set that is gone (an upstream removed by a reload, counters zeroed by statistics --reset)
 * disappears from the scrape instead of showing its last value forever.
 */
function register(registry: Registry, f: Family, snapshot: () => Snapshot): void {
  const common = { name: f.name, help: f.help, labelNames: [...(f.labelNames ?? [])], registers: [registry] };
  if (f.type === 'counter') {
    new Counter({
      ...common,
      collect(this: Counter) {
        this.reset();
        for (const [labels, v] of f.samples(snapshot())) this.inc(labels, v);
      },
    });
  } else {
    new Gauge({
      ...common,
      collect(this: Gauge) {
        this.reset();
        for (const [labels, v] of f.samples(snapshot())) this.set(labels, v);
      },
    });
  }
}

/**
 * The latency histogram, by hand: prom-client's Histogram only learns through observe(), one
 * value at a time, and keeps its buckets private. Ours is already counted (stats.ts, fixed bounds
 * in ms, cumulative counts in the report), so this hands the registry the same object
 * Histogram.get() would: `_bucket` series with `le` in seconds, `_sum` in seconds, `_count`.
 */
function latencyHistogram(snapshot: () => Snapshot) {
  const name = DURATION;
  const help = DURATION_HELP;
  // The report's buckets end with +Inf (control/types.ts), which Prometheus requires.
  const series = (cache: string, l: LatencySummary) => [
    ...l.buckets.map((b) => ({ metricName: `${name}_bucket`, labels: { cache, le: b.leMs === '+Inf' ? '+Inf' : seconds(b.leMs) }, value: b.count })),
    { metricName: `${name}_sum`, labels: { cache }, value: l.sumMs / 1000 },
    { metricName: `${name}_count`, labels: { cache }, value: l.count },
  ];
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const { hit, miss } = snapshot().stats.latency;
      return { name, help, type: 'histogram', aggregator: 'sum', values: [...series('hit', hit), ...series('miss', miss)] };
    },
  };
}

/** A bound in ms as seconds, without float noise (0.025 ms → "0.000025"). */
function seconds(ms: number): string {
  return String(Number((ms / 1000).toPrecision(12)));
}

export interface MetricsListenerDeps {
  readonly api: ControlApi;
  readonly endpoint: Endpoint;
  /** Bound to the instance's VRF device, as the DNS listeners' factory is. */
  readonly factory: SocketFactory;
  readonly log: Logger;
  /** The VRF's name for the `vrf` label; null or "default" in the default VRF. */
  readonly vrf: string | null;
}

/**
 * Serves GET /metrics on `endpoint`, from a socket the factory binds to the VRF device: a
 * scraper inside the VRF reaches it, nothing in another VRF does. Rejects with a MetricsError
 * (VR_ERR_METRICS) when the listener cannot be opened.
 */
export function startMetricsListener(deps: MetricsListenerDeps): Promise<MetricsListener> {
  const exposition = createMetrics(deps.api, deps.vrf);
  return serveMetricsHttp({ exposition, endpoint: deps.endpoint, factory: deps.factory, log: deps.log });
}
