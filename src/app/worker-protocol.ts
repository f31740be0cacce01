// What the main thread and a worker thread (Workers=, app/workers.ts) say to each other over the
// worker's message port. Plain data only: structured clone copies it, nothing is shared.

import type { Config, Endpoint, LogFormat, LogLevel } from '../config/types.js';
import type { CacheStatus, UpstreamStatus } from '../control/types.js';
import type { StatsData } from '../stats.js';

/** A socket systemd passed to the process, as a descriptor of the worker's own (a dup). */
export interface PassedSocket {
  readonly transport: 'udp' | 'tcp';
  readonly endpoint: Endpoint;
  readonly fd: number;
  readonly name: string;
}

/** workerData of a worker thread. */
export interface WorkerInit {
  /** 1, 2, ...: the main thread is worker 0. */
  readonly index: number;
  readonly config: Config;
  readonly logFormat: LogFormat;
  /** The level now (`vrf-resolver log-level` may have changed it since the config was read). */
  readonly logLevel: LogLevel;
  /** Socket activation: the passed sockets, duplicated for this worker; null: it opens its own listeners. */
  readonly activated: readonly PassedSocket[] | null;
  /** The instance follows its device: a listener whose address is not there yet waits for it. */
  readonly waitForAddresses: boolean;
  /** The device is gone now: start with every listener waiting. */
  readonly deviceGone: boolean;
}

export type WorkerRequest =
  | { readonly op: 'reload'; readonly config: Config }
  | { readonly op: 'deviceLost' }
  | { readonly op: 'openWaiting' }
  | { readonly op: 'snapshot' }
  /** key: a cache key of a name (dns/name.ts textToKey), or null for the whole cache. */
  | { readonly op: 'flush'; readonly key: string | null }
  | { readonly op: 'resetStatistics' }
  | { readonly op: 'logLevel'; readonly level: LogLevel }
  | { readonly op: 'cacheRemaining'; readonly key: string }
  | { readonly op: 'close' };

export type ToWorker = WorkerRequest & { readonly id: number };

export type FromWorker =
  | { readonly op: 'started' }
  | { readonly op: 'failed'; readonly error: string; readonly code?: string }
  | { readonly op: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly op: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

/** One worker as the control plane reports it; the main thread makes its own the same way. */
export interface WorkerSnapshot {
  readonly stats: StatsData;
  readonly cache: CacheStatus;
  readonly upstreams: readonly UpstreamStatus[];
  readonly inflight: number;
  readonly listeners: readonly string[];
  readonly waitingListeners: readonly string[];
}
