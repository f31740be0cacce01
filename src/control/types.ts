// What a running instance tells its operator: the typed interface of the control plane. The Unix
// socket server (control/server.ts) and the metrics listener (control/metrics.ts) are two
// transports over it; the CLI commands (cli/commands/) are clients. Everything here is computed
// when asked, from counters the hot path already keeps. The field names are the JSON that
// `vrf-resolver status --json` and `statistics --json` print: scripts read them, keep them stable.

import type { LogLevel } from '../config/types.js';
import type { Counters } from '../stats.js';

export interface UpstreamStatus {
  /** "192.0.2.53:53", "[2001:db8::53]:53". */
  readonly server: string;
  readonly state: 'healthy' | 'backing-off';
  /** ISO time until which the server is tried after the others; null when healthy. */
  readonly backoffUntil: string | null;
  readonly consecutiveFailures: number;
  readonly queries: number;
  readonly failures: number;
  /** Failures by stable code (VR_ERR_UPSTREAM_TIMEOUT, ...). */
  readonly failuresByCode: Readonly<Record<string, number>>;
  readonly timeouts: number;
  readonly tcpFallbacks: number;
  /** Smoothed round-trip time in ms (RFC 6298 SRTT); null before the first answer. */
  readonly rttMs: number | null;
  readonly lastError: { readonly code: string; readonly at: string } | null;
}

export interface CacheStatus {
  readonly enabled: boolean;
  readonly entries: number;
  /** Bytes as the cache counts them (wire bytes plus per-entry overhead). */
  readonly bytes: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly evictions: number;
}

export interface StatusReport {
  readonly instance: string;
  readonly version: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly uptimeSec: number;
  /**
   * The VRF device and the ifindex its sockets are bound to; both null in the default VRF. With
   * `following` (netlink watches the device, app/follow.ts) the ifindex is the current one and
   * `present` is false while the device is gone; without it, the ifindex seen at start.
   */
  readonly vrf: { readonly name: string | null; readonly ifindex: number | null; readonly following?: boolean; readonly present?: boolean };
  readonly upstreamDevice: string | null;
  /** "udp 127.0.0.1:53 on mgmt", ... */
  readonly listeners: readonly string[];
  /** Listen addresses waiting for their address or the device to appear ("udp+tcp [::1]:53 on mgmt"); absent when none. */
  readonly waitingListeners?: readonly string[];
  /** The config file and drop-ins read at start or at the last reload. */
  readonly configFiles: readonly string[];
  readonly controlSocket: string | null;
  /** "http://127.0.0.1:9153/metrics on mgmt"; null when off. */
  readonly metrics: string | null;
  readonly logLevel: LogLevel;
  readonly upstreams: readonly UpstreamStatus[];
  /** Forward= routes, longest domain first: each domain's servers (their health is in `upstreams`); absent when none. */
  readonly routes?: readonly { readonly domain: string; readonly servers: readonly string[] }[];
  readonly cache: CacheStatus;
  /** Distinct questions waiting on upstream servers now. */
  readonly inflight: number;
  /** With Workers= above 1: each worker (0 is the main thread); the figures above are their sums. Absent with one. */
  readonly workers?: readonly WorkerStatus[];
}

/** A worker thread (Workers=). Its figures are null while it is not running or did not answer in time. */
export interface WorkerStatus {
  readonly worker: number;
  /** running; starting (its first start); restarting (it stopped and is started again after a delay). */
  readonly state: WorkerState;
  /** Times it stopped and was started again. */
  readonly restarts: number;
  readonly queries: number | null;
  readonly cacheEntries: number | null;
  readonly inflight: number | null;
  /** Its listeners that wait for their address or device; absent when none. */
  readonly waitingListeners?: readonly string[];
}

export type WorkerState = 'running' | 'starting' | 'restarting' | 'unresponsive';

export interface LatencySummary {
  readonly count: number;
  readonly sumMs: number;
  /** Interpolated inside fixed buckets (stats.ts LATENCY_BOUNDS_MS); null without observations. */
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  /** Cumulative counts per upper bound in ms, the last one "+Inf": Prometheus' histogram shape. */
  readonly buckets: readonly { readonly leMs: number | '+Inf'; readonly count: number }[];
}

export interface StatisticsReport {
  readonly instance: string;
  /** When counting began: the start, or the last --reset. */
  readonly since: string;
  readonly counters: Counters;
  /** Replies by RCODE name (NOERROR, NXDOMAIN, SERVFAIL, ...); only those seen. */
  readonly responsesByRcode: Readonly<Record<string, number>>;
  readonly queriesByTransport: { readonly udp: number; readonly tcp: number };
  /** Queries by type name (A, AAAA, TYPE65534, ...); only those seen. */
  readonly queriesByType: Readonly<Record<string, number>>;
  readonly cache: CacheStatus;
  readonly upstreams: readonly UpstreamStatus[];
  readonly latency: { readonly hit: LatencySummary; readonly miss: LatencySummary };
  /**
   * With Workers= above 1: each worker's own counters and cache (null while it is not running).
   * The sums above also hold what workers that died had counted, so they never go back.
   */
  readonly workers?: readonly {
    readonly worker: number;
    readonly state: WorkerState;
    readonly restarts: number;
    readonly counters: Counters | null;
    readonly cache: CacheStatus | null;
  }[];
}

/** The instance as the control plane drives it. Async: with Workers= the other threads are asked too. */
export interface ControlApi {
  status(): Promise<StatusReport>;
  statistics(): Promise<StatisticsReport>;
  /** Zeroes every counter (as `resolvectl reset-statistics`). */
  resetStatistics(): Promise<void>;
  /** The whole cache, or every entry of one name (presentation form, any case); every worker's. */
  flushCaches(name?: string): Promise<{ readonly flushed: number }>;
  /** Sets the log level of the running instance until the next reload or restart. */
  setLogLevel(level: LogLevel): Promise<{ readonly previous: LogLevel; readonly level: LogLevel }>;
  /** Whether an answer to NAME TYPE, asked without DO and CD, is cached now (in any worker), and for how long. */
  cacheLookup(name: string, type: number): Promise<{ readonly cached: boolean; readonly remainingSec: number | null }>;
}
