// The control plane's view of one running instance (control/types.ts ControlApi), computed from
// what the App already keeps: its counters, its cache, its upstream health, its config. Nothing
// here runs per query; every method is a snapshot taken when an operator or a scraper asks.
// With Workers= the other workers are asked too (app/workers.ts), which is why every method is
// async: their counters, caches and health are summed, and listed per worker.

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { App } from '../app.js';
import type { LogLevel } from '../config/types.js';
import { LATENCY_BOUNDS_MS, RCODE_SLOTS, addStats, counters, newStats, resetStats, statsData, type LatencyHistogram } from '../stats.js';
import type { WorkerSnapshot } from '../app/worker-protocol.js';
import type { WorkerReport } from '../app/workers.js';
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

  /**
   * This thread's snapshot and, with Workers=, every other worker's (null: not running, or no
   * answer in time): `all` the snapshots there are, `workers` each worker as reported (absent with one).
   */
  private async everyWorker(): Promise<{ all: WorkerSnapshot[]; workers: readonly WorkerReport[] | undefined }> {
    const own = snapshotOf(this.deps.app, this.wallNow);
    const group = this.deps.app.workers;
    if (group === null) return { all: [own], workers: undefined };
    const others = await group.snapshots();
    return {
      all: [own, ...others.flatMap((w) => (w.snapshot === null ? [] : [w.snapshot]))],
      workers: [{ worker: 0, state: 'running', restarts: 0, snapshot: own }, ...others],
    };
  }

  async status(): Promise<StatusReport> {
    const { app, version, startedAtMs } = this.deps;
    const config = app.currentConfig;
    const { all, workers } = await this.everyWorker();
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
      upstreams: mergeUpstreams(all.map((s) => s.upstreams)),
      ...(config.upstream.routes !== undefined && config.upstream.routes.length > 0 && {
        routes: [...config.upstream.routes].sort((a, b) => b.domain.length - a.domain.length)
          .map((r) => ({ domain: r.domain, servers: r.servers.map((e) => toUpstreamServer(e).label) })),
      }),
      cache: sumCaches(all.map((s) => s.cache)),
      inflight: all.reduce((n, s) => n + s.inflight, 0),
      ...(workers !== undefined && {
        workers: workers.map((w) => ({
          worker: w.worker,
          state: w.state,
          restarts: w.restarts,
          queries: w.snapshot?.stats.counters.queries ?? null,
          cacheEntries: w.snapshot?.cache.entries ?? null,
          inflight: w.snapshot?.inflight ?? null,
          ...(w.snapshot !== null && w.snapshot.waitingListeners.length > 0 && { waitingListeners: w.snapshot.waitingListeners }),
        })),
      }),
    };
  }

  async statistics(): Promise<StatisticsReport> {
    const { app } = this.deps;
    const { all, workers } = await this.everyWorker();
    // The sum over the workers, and what workers that died had counted: the instance's
    // counters never go back while it runs (a Prometheus counter must not).
    const s = newStats();
    for (const w of all) addStats(s, w.stats);
    const retired = app.workers?.retired ?? null;
    if (retired !== null) addStats(s, retired);
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
      cache: sumCaches(all.map((x) => x.cache)),
      upstreams: mergeUpstreams(all.map((x) => x.upstreams)),
      latency: { hit: summary(s.hitLatency), miss: summary(s.missLatency) },
      ...(workers !== undefined && {
        workers: workers.map((w) => ({
          worker: w.worker,
          state: w.state,
          restarts: w.restarts,
          counters: w.snapshot?.stats.counters ?? null,
          cache: w.snapshot?.cache ?? null,
        })),
      }),
    };
  }

  async resetStatistics(): Promise<void> {
    const { app } = this.deps;
    resetCounters(app);
    await app.workers?.resetStatistics();
    this.statsSinceMs = this.wallNow();
  }

  async flushCaches(name?: string): Promise<{ flushed: number }> {
    const key = name === undefined ? null : nameKey(name);
    const own = flushCache(this.deps.app, key);
    return { flushed: own + ((await this.deps.app.workers?.flush(key)) ?? 0) };
  }

  async setLogLevel(level: LogLevel): Promise<{ previous: LogLevel; level: LogLevel }> {
    const log = this.deps.log;
    const previous = log.level as LogLevel;
    log.level = level;
    await this.deps.app.workers?.setLogLevel(level);
    if (previous !== level) log.warn({ previous, level }, 'log level changed by the control socket; a reload or restart restores LogLevel=');
    return { previous, level };
  }

  async cacheLookup(name: string, type: number): Promise<{ cached: boolean; remainingSec: number | null }> {
    // The key parseQuery makes for a query without DO and CD (dns/query.ts).
    const key = nameKey(name) + String.fromCharCode(type, CLASS_IN, 0);
    const own = this.deps.app.cache?.remainingSec(key) ?? null;
    // With Workers=, each worker has a cache of its own: cached if any of them has it, for the longest time left.
    const found = [own, ...((await this.deps.app.workers?.cacheRemaining(key)) ?? [])].filter((r): r is number => r !== null);
    const remainingSec = found.length === 0 ? null : Math.max(...found);
    return { cached: remainingSec !== null, remainingSec };
  }
}

/** `statistics --reset` in one thread: its counters, its servers' counters, its evictions. */
export function resetCounters(app: App): void {
  resetStats(app.stats);
  app.health.resetCounters();
  if (app.cache) app.cache.evictions = 0;
}

/** One thread's cache emptied (key null) or rid of one name's entries (a name key); the entries removed. */
export function flushCache(app: App, key: string | null): number {
  return (key === null ? app.cache?.clear() : app.cache?.deleteName(key)) ?? 0;
}

/** What one thread's App reports: the main thread's own, or a worker's (app/worker-thread.ts). */
export function snapshotOf(app: App, wallNow: () => number = Date.now): WorkerSnapshot {
  return {
    stats: statsData(app.stats),
    cache: cacheStatusOf(app),
    upstreams: upstreamStatusesOf(app, wallNow),
    inflight: app.resolver.inflightCount,
    listeners: app.listenerLabels,
    waitingListeners: app.pendingListenerLabels,
  };
}

function cacheStatusOf(app: App): CacheStatus {
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

function upstreamStatusesOf(app: App, wallNow: () => number): UpstreamStatus[] {
  // Health times are on this thread's monotonic clock (a worker's starts elsewhere): shown as wall-clock times.
  const monoNow = app.clock.now();
  const wall = wallNow();
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

/** The caches of every worker as one: entries, bytes and evictions add up, the limits are each worker's. */
function sumCaches(caches: readonly CacheStatus[]): CacheStatus {
  const [first, ...rest] = caches as [CacheStatus, ...CacheStatus[]];
  return rest.reduce((a, c) => ({ ...a, entries: a.entries + c.entries, bytes: a.bytes + c.bytes, evictions: a.evictions + c.evictions }), first);
}

/**
 * One line per server over every worker's health (each worker keeps its own): counts add up,
 * a server any worker backs off from is shown backing off (until the latest time), the RTT is
 * the mean of the workers that measured it, the last error the latest.
 */
export function mergeUpstreams(lists: readonly (readonly UpstreamStatus[])[]): UpstreamStatus[] {
  const [first = [], ...rest] = lists;
  return first.map((u) => {
    const same = [u, ...rest.flatMap((l) => l.filter((o) => o.server === u.server))];
    if (same.length === 1) return u;
    const sum = (f: (x: UpstreamStatus) => number) => same.reduce((n, x) => n + f(x), 0);
    const byCode: Record<string, number> = {};
    for (const x of same) for (const [code, n] of Object.entries(x.failuresByCode)) byCode[code] = (byCode[code] ?? 0) + n;
    const off = same.filter((x) => x.state === 'backing-off').map((x) => x.backoffUntil!).sort();
    const rtts = same.flatMap((x) => (x.rttMs === null ? [] : [x.rttMs]));
    const errors = same.flatMap((x) => (x.lastError === null ? [] : [x.lastError])).sort((a, b) => a.at.localeCompare(b.at));
    return {
      server: u.server,
      state: off.length > 0 ? 'backing-off' : 'healthy',
      backoffUntil: off.length > 0 ? off[off.length - 1]! : null,
      consecutiveFailures: Math.max(...same.map((x) => x.consecutiveFailures)),
      queries: sum((x) => x.queries),
      failures: sum((x) => x.failures),
      failuresByCode: byCode,
      timeouts: sum((x) => x.timeouts),
      tcpFallbacks: sum((x) => x.tcpFallbacks),
      rttMs: rtts.length === 0 ? null : Math.round((rtts.reduce((a, b) => a + b, 0) / rtts.length) * 1000) / 1000,
      lastError: errors.length === 0 ? null : errors[errors.length - 1]!,
    };
  });
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
