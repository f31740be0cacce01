// Counters of one instance. Plain numbers and fixed arrays, bumped on the hot path (an increment,
// never an allocation), read by the control plane and the metrics endpoint only when asked
// (src/control/). Names are stable: operators graph them and scripts read them as JSON.

/**
 * Upper bounds of the latency buckets, in milliseconds. Fixed (a histogram, not a reservoir), so
 * observing is a few comparisons and percentiles are computed when asked, as Prometheus'
 * histogram_quantile() does. From 25 µs (a cache hit inside the process) to 5 s (QueryTimeoutMs).
 */
export const LATENCY_BOUNDS_MS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

export class LatencyHistogram {
  /** counts[i]: observations ≤ LATENCY_BOUNDS_MS[i] and above the bound before; the last is +Inf. */
  readonly counts: number[] = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  count = 0;
  sumMs = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
  }

  /**
   * The q-quantile (0..1), interpolated linearly inside its bucket like histogram_quantile();
   * null without observations. Past the last bound it says the last bound.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (seen + c >= rank && c > 0) {
        if (i === LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[i - 1]!;
        const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
        return lower + (LATENCY_BOUNDS_MS[i]! - lower) * ((rank - seen) / c);
      }
      seen += c;
    }
    return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
  }
}

/** The counters, each a number: what `statistics` prints and the "stopped" log line carries. */
export interface Counters {
  queries: number;
  udpQueries: number;
  tcpQueries: number;
  cacheHits: number;
  cacheMisses: number;
  /** Misses that joined an upstream query already in flight for the same key. */
  coalesced: number;
  /** Queries not answered: unreadable, oversize, or QR=1 (see WireFault). */
  dropped: number;
  /** Queries from outside AllowFrom= (refused or dropped, DenyAction=). */
  denied: number;
  formerr: number;
  notimp: number;
  refused: number;
  servfail: number;
  /** Upstream datagrams from an address or port we did not send to (RFC 5452). */
  spoofedReplies: number;
  /** Upstream datagrams from the right server with a wrong ID or question (RFC 5452). */
  mismatchedReplies: number;
  upstreamQueries: number;
  upstreamFailures: number;
  tcpFallbacks: number;
  /** Expired answers served because their refresh failed (RFC 8767). */
  staleServed: number;
  /** Answers refreshed before they expired, because they were asked for near the end (Prefetch=). */
  prefetches: number;
}

/** Replies by RCODE, 0..23 (BADVERS is 16); other values count at the last index. */
export const RCODE_SLOTS = 24;

export interface Stats extends Counters {
  /** Replies sent by RCODE (header plus extended bits), RCODE_SLOTS of them. */
  readonly rcodes: number[];
  /** Queries by QTYPE: the common ones (below 256) in an array, the rest in a map. */
  readonly qtypes: number[];
  readonly qtypesHigh: Map<number, number>;
  /** Time from a query's arrival to its reply: answered from the cache, and not. */
  readonly hitLatency: LatencyHistogram;
  readonly missLatency: LatencyHistogram;
}

const COUNTER_NAMES = [
  'queries', 'udpQueries', 'tcpQueries', 'cacheHits', 'cacheMisses', 'coalesced', 'dropped', 'denied', 'formerr', 'notimp',
  'refused', 'servfail', 'spoofedReplies', 'mismatchedReplies', 'upstreamQueries', 'upstreamFailures', 'tcpFallbacks',
  'staleServed', 'prefetches',
] as const satisfies readonly (keyof Counters)[];

/**
 * Every field declared here, so the object has one fast shape from birth. Built as an object
 * literal plus one keyed store per counter, it went to dictionary mode (V8 gives up on fast
 * properties after a dozen added by key), and each `stats.x++` of the hot path became a LoadIC
 * and a StoreIC call with a dictionary lookup (issue 13, --print-opt-code).
 */
class StatsRecord implements Stats {
  queries = 0;
  udpQueries = 0;
  tcpQueries = 0;
  cacheHits = 0;
  cacheMisses = 0;
  coalesced = 0;
  dropped = 0;
  denied = 0;
  formerr = 0;
  notimp = 0;
  refused = 0;
  servfail = 0;
  spoofedReplies = 0;
  mismatchedReplies = 0;
  upstreamQueries = 0;
  upstreamFailures = 0;
  tcpFallbacks = 0;
  staleServed = 0;
  prefetches = 0;
  readonly rcodes = new Array<number>(RCODE_SLOTS).fill(0);
  readonly qtypes = new Array<number>(256).fill(0);
  readonly qtypesHigh = new Map<number, number>();
  readonly hitLatency = new LatencyHistogram();
  readonly missLatency = new LatencyHistogram();
}

export function newStats(): Stats {
  return new StatsRecord();
}

/** The plain counters, copied: for log lines and JSON. */
export function counters(s: Stats): Counters {
  const out = {} as Counters;
  for (const name of COUNTER_NAMES) out[name] = s[name];
  return out;
}

/** Zeroes everything in place (`statistics --reset`); holders of the object keep counting into it. */
export function resetStats(s: Stats): void {
  for (const name of COUNTER_NAMES) s[name] = 0;
  s.rcodes.fill(0);
  s.qtypes.fill(0);
  s.qtypesHigh.clear();
  s.hitLatency.reset();
  s.missLatency.reset();
}

export function countQtype(s: Stats, qtype: number): void {
  if (qtype < 256) s.qtypes[qtype]!++;
  else s.qtypesHigh.set(qtype, (s.qtypesHigh.get(qtype) ?? 0) + 1);
}

export function countRcode(s: Stats, rcode: number): void {
  s.rcodes[rcode < RCODE_SLOTS ? rcode : RCODE_SLOTS - 1]!++;
}

/** A Stats as plain data: what a worker thread sends to the main thread (app/workers.ts). */
export interface StatsData {
  readonly counters: Counters;
  readonly rcodes: readonly number[];
  readonly qtypes: readonly number[];
  readonly qtypesHigh: readonly (readonly [number, number])[];
  readonly hitLatency: HistogramData;
  readonly missLatency: HistogramData;
}

export interface HistogramData {
  readonly counts: readonly number[];
  readonly count: number;
  readonly sumMs: number;
}

export function statsData(s: Stats): StatsData {
  const hist = (h: LatencyHistogram): HistogramData => ({ counts: [...h.counts], count: h.count, sumMs: h.sumMs });
  return {
    counters: counters(s), rcodes: [...s.rcodes], qtypes: [...s.qtypes], qtypesHigh: [...s.qtypesHigh],
    hitLatency: hist(s.hitLatency), missLatency: hist(s.missLatency),
  };
}

/** Adds `d` into `into`: the sum of several workers' counters is their instance's. */
export function addStats(into: Stats, d: StatsData): void {
  for (const name of COUNTER_NAMES) into[name] += d.counters[name];
  d.rcodes.forEach((n, i) => (into.rcodes[i]! += n));
  d.qtypes.forEach((n, i) => (into.qtypes[i]! += n));
  for (const [type, n] of d.qtypesHigh) into.qtypesHigh.set(type, (into.qtypesHigh.get(type) ?? 0) + n);
  const hist = (h: LatencyHistogram, from: HistogramData): void => {
    from.counts.forEach((n, i) => (h.counts[i]! += n));
    h.count += from.count;
    h.sumMs += from.sumMs;
  };
  hist(into.hitLatency, d.hitLatency);
  hist(into.missLatency, d.missLatency);
}
