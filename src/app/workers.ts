// Workers=N: N threads answer queries, the main thread (worker 0) and N-1 worker threads
// (app/worker-thread.ts). Each runs an App of its own: listeners on every Listen= address bound
// to the VRF with SO_REUSEPORT (the kernel spreads clients over them by address and port), its
// own cache, upstream sockets and health. The main thread keeps what there is one of: systemd's
// notifications and watchdog, signals, the control socket and metrics, the device follower and
// the config file. This file is the main thread's side: it starts the workers, passes on what
// the instance is told (reload, device lost or back, flush, log level), asks them for their
// counters, and starts a worker that stopped again.
//
// Threads, not processes: one PID for systemd (Type=notify, the watchdog, KillMode), one control
// socket, the native helper loaded once; an extra worker costs an isolate (about 10 MiB), not a
// whole Node process. A cache per worker, not a shared one: the slab cache lives in one thread's
// heap; sharing it would put a lock on every hit. Measured in the README ("Workers").

import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config, LogFormat, LogLevel } from '../config/types.js';
import type { WorkerState } from '../control/types.js';
import { closeFd, dupFd } from '../native/binding.js';
import type { ActivatedSocket } from '../systemd/listen-fds.js';
import { systemClock, type Clock } from '../clock.js';
import { addStats, newStats, statsData, type Stats, type StatsData } from '../stats.js';
import type { FromWorker, PassedSocket, WorkerInit, WorkerRequest, WorkerSnapshot } from './worker-protocol.js';

/** How long a worker may take to answer the control plane before it is reported unresponsive. */
const ASK_TIMEOUT_MS = 2_000;
/** Reloads and device events open and close sockets: more time. */
const CHANGE_TIMEOUT_MS = 30_000;
/** Starting a worker: loading the modules and binding its listeners (slow under emulation, as in the VM lab). */
const START_TIMEOUT_MS = 120_000;
/** A worker that stopped is started again after this, doubled for each stop in a row, up to RESTART_MAX_MS. */
const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before it stopped starts the doubling from the beginning. */
const STABLE_MS = 60_000;
/** The last counters of each worker are fetched this often, so those of one that dies are kept (statistics never go back). */
const REFRESH_MS = 5_000;
/**
 * A worker that has not answered this many refreshes in a row is hung (a loop that never yields:
 * it answers no query either) and is stopped and started again: about 15 s with REFRESH_MS. The
 * watchdog of systemd covers only the main thread.
 */
export const HUNG_AFTER = 3;

export interface WorkerReport {
  readonly worker: number;
  readonly state: WorkerState;
  readonly restarts: number;
  /** null: not running, or it did not answer in time. */
  readonly snapshot: WorkerSnapshot | null;
}

export interface WorkerGroupDeps {
  /** Workers=: the main thread included. */
  readonly count: number;
  readonly log: Logger;
  readonly logFormat: LogFormat;
  /** The configuration now: a worker started again gets the one in force, not the first. */
  readonly config: () => Config;
  /** The VRF device is gone now: a worker (re)started then waits for it like the main thread's listeners. */
  readonly deviceGone: () => boolean;
  /** The instance follows its device (app/follow.ts): listeners whose address is not there yet wait. */
  readonly waitForAddresses: boolean;
  /** Sockets systemd passed (socket activation): each worker serves a duplicate of each; [] when none. */
  readonly activated: readonly ActivatedSocket[];
  readonly clock?: Clock;
  /** The worker's module; tests pass the built one (dist/app/worker-thread.js). */
  readonly entry?: URL;
  /** How often the workers' counters are fetched and their answering checked (REFRESH_MS); tests shorten it. */
  readonly refreshMs?: number;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly cancel: () => void;
}

class Slot {
  worker: Worker | null = null;
  state: WorkerState = 'starting';
  restarts = 0;
  stopsInARow = 0;
  startedAtMs = 0;
  /** Refreshes in a row it did not answer (HUNG_AFTER). */
  unanswered = 0;
  /** Its counters when last asked: added to the retired ones if it dies. */
  last: WorkerSnapshot | null = null;
  readonly pending = new Map<number, Pending>();
  cancelRestart: (() => void) | null = null;
  constructor(readonly index: number) {}
}

export class WorkerGroup {
  private readonly slots: Slot[];
  private readonly clock: Clock;
  private readonly entry: URL;
  private nextId = 1;
  private closing = false;
  /** What workers that stopped had counted, since the last reset. */
  private retiredStats: Stats | null = null;
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private refreshing = false;

  private constructor(private readonly deps: WorkerGroupDeps) {
    this.slots = Array.from({ length: deps.count - 1 }, (_, i) => new Slot(i + 1));
    this.clock = deps.clock ?? systemClock;
    this.entry = deps.entry ?? new URL('./worker-thread.js', import.meta.url);
  }

  /** Starts workers 1..count-1 and waits until each serves; if one cannot, stops the others and throws its error. */
  static async start(deps: WorkerGroupDeps): Promise<WorkerGroup> {
    const group = new WorkerGroup(deps);
    const started = await Promise.allSettled(group.slots.map((s) => group.spawn(s)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await group.close();
      throw failed.reason;
    }
    group.refreshTimer = setInterval(() => void group.refresh(), deps.refreshMs ?? REFRESH_MS).unref();
    return group;
  }

  /** Fetches every worker's counters; a worker that has not answered HUNG_AFTER times in a row is stopped (and so started again). */
  private async refresh(): Promise<void> {
    if (this.refreshing) return; // the last one still waits for a worker's answer
    this.refreshing = true;
    const reports = await this.snapshots().finally(() => (this.refreshing = false));
    for (const r of reports) {
      const s = this.slots[r.worker - 1]!;
      if (r.state !== 'unresponsive') {
        s.unanswered = 0;
        continue;
      }
      if (++s.unanswered < HUNG_AFTER || this.closing || s.worker === null) continue;
      s.unanswered = 0;
      this.deps.log.error({ worker: s.index, unanswered: HUNG_AFTER }, 'worker is hung (it answered none of the last checks); stopping it to start it again');
      void s.worker.terminate(); // its exit starts it again (exited)
    }
  }

  get size(): number {
    return this.slots.length + 1;
  }

  /** What workers that stopped had counted (null: none stopped since the start or the last reset). */
  get retired(): StatsData | null {
    return this.retiredStats === null ? null : statsData(this.retiredStats);
  }

  /** Each worker's state and counters (workers 1..N-1); one that does not answer in time is reported unresponsive. */
  snapshots(): Promise<WorkerReport[]> {
    return Promise.all(this.slots.map(async (s): Promise<WorkerReport> => {
      const report = (state: WorkerState, snapshot: WorkerSnapshot | null): WorkerReport =>
        ({ worker: s.index, state, restarts: s.restarts, snapshot });
      if (s.state !== 'running') return report(s.state, null);
      try {
        s.last = (await this.ask(s, { op: 'snapshot' }, ASK_TIMEOUT_MS)) as WorkerSnapshot;
        return report('running', s.last);
      } catch {
        return report(s.state === 'running' ? 'unresponsive' : s.state, null);
      }
    }));
  }

  async resetStatistics(): Promise<void> {
    this.retiredStats = null;
    await this.every({ op: 'resetStatistics' }, ASK_TIMEOUT_MS);
  }

  /** Entries removed from the workers' caches: all, or those of one name (a cache key). */
  async flush(key: string | null): Promise<number> {
    const counts = await this.every({ op: 'flush', key }, ASK_TIMEOUT_MS);
    return counts.reduce<number>((n, c) => n + ((c as number | null) ?? 0), 0);
  }

  async setLogLevel(level: LogLevel): Promise<void> {
    await this.every({ op: 'logLevel', level }, ASK_TIMEOUT_MS);
  }

  /** Seconds each worker still holds the answer for; null where it holds none. */
  async cacheRemaining(key: string): Promise<(number | null)[]> {
    return (await this.every({ op: 'cacheRemaining', key }, ASK_TIMEOUT_MS)) as (number | null)[];
  }

  /** The main thread applied `config`: every worker applies it too (a worker that refuses says why in the log). */
  async reload(config: Config): Promise<void> {
    const results = (await this.every({ op: 'reload', config }, CHANGE_TIMEOUT_MS)) as ({ applied: boolean; error?: string } | null)[];
    results.forEach((r, i) => {
      if (r !== null && !r.applied) {
        this.deps.log.error({ worker: i + 1, err: r.error }, 'a worker refused the reload and serves the old configuration; restart the instance');
      }
    });
  }

  /** The VRF device is gone or was re-created: every worker closes its listeners and waits. */
  async deviceLost(): Promise<void> {
    await this.every({ op: 'deviceLost' }, CHANGE_TIMEOUT_MS);
  }

  /** The device or an address arrived: every worker opens its waiting listeners. */
  async openWaiting(): Promise<void> {
    await this.every({ op: 'openWaiting' }, CHANGE_TIMEOUT_MS);
  }

  /** Stops every worker: each closes its listeners and flushes its log, then its thread ends. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    await Promise.all(this.slots.map(async (s) => {
      s.cancelRestart?.();
      const w = s.worker;
      if (w === null) return;
      // One that missed its last check gets the time of a check, not of a change, to close.
      const timeoutMs = s.unanswered > 0 ? ASK_TIMEOUT_MS : CHANGE_TIMEOUT_MS;
      if (s.state === 'running') await this.ask(s, { op: 'close' }, timeoutMs).catch(() => undefined);
      await w.terminate();
    }));
  }

  /** One request to every running worker; null for a worker that failed or did not answer (logged). */
  private every(req: WorkerRequest, timeoutMs: number): Promise<unknown[]> {
    return Promise.all(this.slots.map(async (s) => {
      if (s.state !== 'running') return null;
      try {
        return await this.ask(s, req, timeoutMs);
      } catch (e) {
        this.deps.log.warn({ worker: s.index, op: req.op, err: (e as Error).message }, 'a worker did not do what it was asked');
        return null;
      }
    }));
  }

  private ask(s: Slot, req: WorkerRequest, timeoutMs: number): Promise<unknown> {
    const w = s.worker;
    if (w === null) return Promise.reject(new Error(`worker ${s.index} is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const cancel = this.clock.after(timeoutMs, () => {
        s.pending.delete(id);
        reject(new Error(`worker ${s.index} did not answer "${req.op}" within ${timeoutMs} ms`));
      });
      s.pending.set(id, { resolve, reject, cancel });
      w.postMessage({ ...req, id });
    });
  }

  /** Starts the slot's worker; resolves once it serves. A worker that fails to start is started again later, unless it was the first start. */
  private spawn(s: Slot): Promise<void> {
    const first = s.startedAtMs === 0 && s.restarts === 0;
    s.cancelRestart = null;
    let passed: PassedSocket[] = [];
    let w: Worker;
    try {
      passed = this.deps.activated.map((a) => ({ transport: a.transport, endpoint: a.endpoint, fd: dupFd(a.fd.fd), name: a.fd.name }));
      const init: WorkerInit = {
        index: s.index,
        config: this.deps.config(),
        logFormat: this.deps.logFormat,
        logLevel: this.deps.log.level as LogLevel,
        activated: this.deps.activated.length > 0 ? passed : null,
        waitForAddresses: this.deps.waitForAddresses,
        deviceGone: this.deps.deviceGone(),
      };
      w = new Worker(this.entry, { workerData: init, name: `vrf-resolver worker ${s.index}` });
    } catch (e) {
      // No thread took the duplicates: they are ours to close. A worker that did start owns them.
      for (const p of passed) closeFd(p.fd);
      return this.startFailed(s, first, e as Error);
    }
    s.worker = w;
    s.state = s.restarts === 0 ? 'starting' : 'restarting';
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const cancelTimeout = this.clock.after(START_TIMEOUT_MS, () => {
        if (settled) return;
        settled = true;
        void w.terminate();
        this.startFailed(s, first, new Error(`worker ${s.index} did not start within ${START_TIMEOUT_MS / 1000} s`)).then(resolve, reject);
      });
      w.on('message', (m: FromWorker) => {
        if (m.op === 'reply') {
          const p = s.pending.get(m.id);
          if (p === undefined) return;
          s.pending.delete(m.id);
          p.cancel();
          if (m.ok) p.resolve(m.value);
          else p.reject(new Error(m.error));
          return;
        }
        if (settled) return;
        settled = true;
        cancelTimeout();
        if (m.op === 'started') {
          s.state = 'running';
          s.startedAtMs = this.clock.now();
          if (!first) this.deps.log.info({ worker: s.index, restarts: s.restarts }, 'worker started again');
          resolve();
        } else {
          const err = Object.assign(new Error(m.error), m.code !== undefined && { code: m.code });
          void w.terminate();
          this.startFailed(s, first, err).then(resolve, reject);
        }
      });
      w.on('error', (e) => {
        this.deps.log.error({ worker: s.index, err: e.message, stack: e.stack }, 'worker failed');
      });
      w.on('exit', (code) => {
        if (!settled) {
          settled = true;
          cancelTimeout();
          this.startFailed(s, first, new Error(`worker ${s.index} stopped while starting (exit code ${code})`)).then(resolve, reject);
        }
        this.exited(s, w, code);
      });
    });
  }

  /** A start that failed: the instance's first start fails with it; a restart is tried again later. */
  private startFailed(s: Slot, first: boolean, e: Error): Promise<void> {
    if (first || this.closing) return Promise.reject(e);
    this.deps.log.error({ worker: s.index, err: e.message }, 'worker could not be started again');
    this.scheduleRestart(s);
    return Promise.resolve();
  }

  private exited(s: Slot, w: Worker, code: number): void {
    if (s.worker !== w) return;
    s.worker = null;
    for (const p of s.pending.values()) {
      p.cancel();
      p.reject(new Error(`worker ${s.index} stopped`));
    }
    s.pending.clear();
    if (this.closing || s.state !== 'running') return; // a failed start is handled by startFailed
    // Its counters as last fetched stay in the instance's sums.
    if (s.last !== null) addStats((this.retiredStats ??= newStats()), s.last.stats);
    s.last = null;
    s.restarts++;
    if (this.clock.now() - s.startedAtMs >= STABLE_MS) s.stopsInARow = 0;
    this.deps.log.error({ worker: s.index, exitCode: code, restarts: s.restarts }, 'worker stopped unexpectedly; starting it again');
    this.scheduleRestart(s);
  }

  private scheduleRestart(s: Slot): void {
    s.state = 'restarting';
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** s.stopsInARow);
    s.stopsInARow++;
    s.cancelRestart = this.clock.after(delayMs, () => {
      if (!this.closing) void this.spawn(s);
    });
  }
}
