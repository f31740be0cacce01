// `vrf-resolver statistics` for people: sections as resolvectl statistics prints them. Every
// counter of the report is shown; one this file has no label for yet appears under "Other" by
// its JSON name, so a counter added to stats.ts is never silently left out.

import type { LatencySummary, StatisticsReport, UpstreamStatus } from '../../control/types.js';
import { plural } from '../text.js';
import { type Line, blank, formatBytes, formatMs, formatTally, render } from './layout.js';

/** Where each counter is shown, and under what name. */
const SECTIONS: readonly { readonly header: string; readonly counters: readonly (readonly [string, string])[] }[] = [
  {
    header: 'Queries',
    counters: [['queries', 'Total'], ['udpQueries', 'Over UDP'], ['tcpQueries', 'Over TCP'],
      ['dropped', 'Dropped (unreadable)'], ['denied', 'Denied (AllowFrom=)']],
  },
  {
    header: 'Replies',
    counters: [['formerr', 'FORMERR'], ['notimp', 'NOTIMP'], ['refused', 'REFUSED'], ['servfail', 'SERVFAIL'],
      ['staleServed', 'Stale answers']],
  },
  { header: 'Cache', counters: [['cacheHits', 'Hits'], ['cacheMisses', 'Misses'], ['coalesced', 'Joined in flight'], ['prefetches', 'Prefetched']] },
  {
    header: 'Upstream',
    counters: [['upstreamQueries', 'Queries sent'], ['upstreamFailures', 'Failures'], ['tcpFallbacks', 'TCP fallbacks'],
      ['spoofedReplies', 'Spoofed replies'], ['mismatchedReplies', 'Mismatched replies']],
  },
];

export function renderStatistics(r: StatisticsReport): string {
  const counters = r.counters as unknown as Readonly<Record<string, number>>;
  const shown = new Set(SECTIONS.flatMap((s) => s.counters.map(([name]) => name)));
  const count = (name: string, key: string): Line => ({ key, value: String(counters[name] ?? 0) });
  const extra: Readonly<Record<string, readonly Line[]>> = {
    Queries: [{ key: 'By type', value: formatTally(r.queriesByType) }],
    Replies: [{ key: 'By rcode', value: formatTally(r.responsesByRcode) }],
    Cache: [
      { key: 'Entries', value: `${r.cache.entries} (${formatBytes(r.cache.bytes)})` },
      { key: 'Evictions', value: String(r.cache.evictions) },
    ],
    Upstream: [{ key: 'Per server', value: r.upstreams.map(serverLine) }],
  };
  const lines: Line[] = [{ header: `Instance ${r.instance}, counting since ${r.since}` }];
  for (const s of SECTIONS) {
    lines.push(blank, { header: s.header }, ...s.counters.map(([name, key]) => count(name, key)), ...(extra[s.header] ?? []));
  }
  lines.push(blank, { header: 'Latency' }, { key: 'Cache hits', value: latencyLine(r.latency.hit) }, { key: 'Cache misses', value: latencyLine(r.latency.miss) });
  if (r.workers !== undefined) {
    lines.push(blank, { header: 'Workers (the figures above are their sums)' }, ...r.workers.map((w): Line => ({
      key: String(w.worker),
      value: (w.counters === null
        ? w.state
        : `${plural(w.counters.queries, 'query', 'queries')}, ${w.counters.cacheHits} hits, ${w.counters.cacheMisses} misses, ` +
          `${plural(w.cache?.entries ?? 0, 'cache entry', 'cache entries')}`) + (w.restarts > 0 ? `, started again ${plural(w.restarts, 'time')}` : ''),
    })));
  }
  const others = Object.keys(counters).filter((k) => !shown.has(k));
  if (others.length > 0) lines.push(blank, { header: 'Other' }, ...others.map((k) => count(k, k)));
  return render(lines);
}

function serverLine(u: UpstreamStatus): string {
  return `${u.server}: ${plural(u.queries, 'query', 'queries')}, ${plural(u.failures, 'failure')}, ` +
    `${plural(u.timeouts, 'timeout')}, ${plural(u.tcpFallbacks, 'TC fallback')}, RTT ${formatMs(u.rttMs)}`;
}

function latencyLine(l: LatencySummary): string {
  if (l.count === 0) return 'none yet';
  return `p50 ${formatMs(l.p50Ms)}, p90 ${formatMs(l.p90Ms)}, p99 ${formatMs(l.p99Ms)} (${plural(l.count, 'answer')})`;
}
