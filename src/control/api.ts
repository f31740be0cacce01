// The control plane's view of one running instance (control/types.ts ControlApi), computed from
// what the App already keeps: its counters, its cache, its upstream health, its config. Nothing
// here runs per query; every method is a snapshot taken when an operator or a scraper asks.

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { App } from '../app.js';
import type { LogLevel } from '../config/types.js';
import { LATENCY_BOUNDS_MS, RCODE_SLOTS, counters, resetStats, type LatencyHistogram } from '../stats.js';
import { rcodeName, typeName } from '../dns/mnemonics.js';
import { CLASS_IN } from '../dns/constants.js';
import { textToKey } from '../dns/name.js';
import { ControlError } from '../errors.js';
import type { ServerState } from '../upstream/health.js';
import { toUpstreamServer } from '../upstream/server.js';
import type { CacheStatus, ControlApi, LatencySummary, StatisticsReport, StatusReport, UpstreamStatus } from './types.js';

export interface InstanceControlDeps {
  readonly app: App;
  readonly log: Logger;
  readonly version: string;
  /** Wall-clock time of the start, ms since the epoch. */
  readonly startedAtMs: number;
  /** Where the control plane listens, for status: read when asked (a reload may change them). */
  readonly endpoints: () => { readonly controlSocket: string | null; readonly metrics: string | null };
  /** Wall clock, ms since the epoch (tests pass their own). */
  readonly wallNow?: () => number;
}

export class InstanceControl implements ControlApi {
  private statsSinceMs: number;
  private readonly wallNow: () => number;
  /**
   * The VRF's ifindex when the instance started, for an instance that does not follow its device
   * (no netlink): a bound socket keeps the ifindex it was bound to, so a device re-created since
   * leaves it deaf, and doctor compares this with the device's current one. An instance that
   * follows its device reports the ifindex its listeners are bound to now (app.device).
   */
  private readonly startIfindex: number | null;

  constructor(private readonly deps: InstanceControlDeps) {
    this.wallNow = deps.wallNow ?? Date.now;
    this.statsSinceMs = deps.startedAtMs;
    const vrf = deps.app.currentConfig.vrf;
    this.startIfindex = vrf === null ? null : ifindexOf(vrf);
  }

  private vrfStatus(name: string | null): StatusReport['vrf'] {
    if (name === null) return { name, ifindex: null };
    const d = this.deps.app.device;
    if (!d.following) return { name, ifindex: this.startIfindex };
    return { name, ifindex: d.ifindex, following: true, present: d.present };
  }

  status(): StatusReport {
    const { app, version, startedAtMs } = this.deps;
    const config = app.currentConfig;
    const now = this.wallNow();
    const { controlSocket, metrics } = this.deps.endpoints();
    return {
      instance: config.control.instance,
      version,
      pid: process.pid,
      startedAt: new Date(startedAtMs).toISOString(),
      uptimeSec: Math.max(0, Math.floor((now - startedAtMs) / 1000)),
      vrf: this.vrfStatus(config.vrf),
      upstreamDevice: config.upstream.device,
      listeners: app.listenerLabels,
      ...(app.pendingListenerLabels.length > 0 && { waitingListeners: app.pendingListenerLabels }),
      configFiles: config.configFiles ?? [],
      controlSocket,
      metrics,
      logLevel: this.deps.log.level as LogLevel,
      upstreams: this.upstreams(),
      ...(config.upstream.routes !== undefined && config.upstream.routes.length > 0 && {
        routes: [...config.upstream.routes].sort((a, b) => b.domain.length - a.domain.length)
          .map((r) => ({ domain: r.domain, servers: r.servers.map((e) => toUpstreamServer(e).label) })),
      }),
      cache: this.cacheStatus(),
      inflight: app.resolver.inflightCount,
    };
  }

  statistics(): StatisticsReport {
    const { app } = this.deps;
    const s = app.stats;
    const responsesByRcode: Record<string, number> = {};
    for (let rcode = 0; rcode < RCODE_SLOTS; rcode++) {
      const n = s.rcodes[rcode]!;
      if (n > 0) responsesByRcode[rcode === RCODE_SLOTS - 1 ? 'OTHER' : rcodeName(rcode)] = n;
    }
    const queriesByType: Record<string, number> = {};
    s.qtypes.forEach((n, type) => {
      if (n > 0) queriesByType[typeName(type)] = n;
    });
    for (const [type, n] of s.qtypesHigh) queriesByType[typeName(type)] = n;
    return {
      instance: app.currentConfig.control.instance,
      since: new Date(this.statsSinceMs).toISOString(),
      counters: counters(s),
      responsesByRcode,
      queriesByTransport: { udp: s.udpQueries, tcp: s.tcpQueries },
      queriesByType,
      cache: this.cacheStatus(),
      upstreams: this.upstreams(),
      latency: { hit: summary(s.hitLatency), miss: summary(s.missLatency) },
    };
  }

  resetStatistics(): void {
    const { app } = this.deps;
    resetStats(app.stats);
    app.health.resetCounters();
    if (app.cache) app.cache.evictions = 0;
    this.statsSinceMs = this.wallNow();
  }

  flushCaches(name?: string): { flushed: number } {
    const cache = this.deps.app.cache;
    if (name === undefined) return { flushed: cache?.clear() ?? 0 };
    const key = nameKey(name);
    return { flushed: cache?.deleteName(key) ?? 0 };
  }

  setLogLevel(level: LogLevel): { previous: LogLevel; level: LogLevel } {
    const log = this.deps.log;
    const previous = log.level as LogLevel;
    log.level = level;
    if (previous !== level) log.warn({ previous, level }, 'log level changed by the control socket; a reload or restart restores LogLevel=');
    return { previous, level };
  }

  cacheLookup(name: string, type: number): { cached: boolean; remainingSec: number | null } {
    // The key parseQuery makes for a query without DO and CD (dns/query.ts).
    const key = nameKey(name) + String.fromCharCode(type, CLASS_IN, 0);
    const remainingSec = this.deps.app.cache?.remainingSec(key) ?? null;
    return { cached: remainingSec !== null, remainingSec };
  }

  private cacheStatus(): CacheStatus {
    const { app } = this.deps;
    const c = app.currentConfig.cache;
    const cache = app.cache;
    return {
      enabled: cache !== null,
      entries: cache?.size ?? 0,
      bytes: cache?.bytes ?? 0,
      maxEntries: c.maxEntries,
      maxBytes: c.maxMiB * 1024 * 1024,
      evictions: cache?.evictions ?? 0,
    };
  }

  private upstreams(): UpstreamStatus[] {
    const { app } = this.deps;
    const monoNow = app.clock.now();
    const wall = this.wallNow();
    // Health times are on the monotonic clock; shown as wall-clock times.
    const toIso = (monoMs: number): string => new Date(wall + (monoMs - monoNow)).toISOString();
    return app.health.snapshot().map((st: ServerState) => {
      const backingOff = st.backoffUntilMs > monoNow;
      return {
        server: st.label,
        state: backingOff ? 'backing-off' : 'healthy',
        backoffUntil: backingOff ? toIso(st.backoffUntilMs) : null,
        consecutiveFailures: st.consecutiveFailures,
        queries: st.queries,
        failures: st.failures,
        failuresByCode: st.failuresByCode,
        timeouts: st.failuresByCode['VR_ERR_UPSTREAM_TIMEOUT'] ?? 0,
        tcpFallbacks: st.tcpFallbacks,
        rttMs: st.srttMs === null ? null : Math.round(st.srttMs * 1000) / 1000,
        lastError: st.lastError && { code: st.lastError.code, at: toIso(st.lastError.atMs) },
      };
    });
  }
}

function nameKey(name: string): string {
  const key = textToKey(name);
  if (key === null) throw new ControlError('VR_ERR_CONTROL_REQUEST', `"${name}" is not a domain name`);
  return key;
}

/** The interface index of a device, from sysfs; null when it is gone. */
function ifindexOf(device: string): number | null {
  try {
    const n = Number(readFileSync(`/sys/class/net/${device}/ifindex`, 'utf8').trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

function summary(h: LatencyHistogram): LatencySummary {
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  let cumulative = 0;
  const buckets = h.counts.map((c, i) => {
    cumulative += c;
    return { leMs: i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : ('+Inf' as const), count: cumulative };
  });
  return {
    count: h.count,
    sumMs: Math.round(h.sumMs * 1000) / 1000,
    p50Ms: round(h.quantile(0.5)),
    p90Ms: round(h.quantile(0.9)),
    p99Ms: round(h.quantile(0.99)),
    buckets,
  };
}
