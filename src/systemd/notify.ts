// The service manager's notification protocol (sd_notify(3)), for Type=notify units:
//   READY=1 once every listener is bound, STATUS= a one-line summary,
//   RELOADING=1 + MONOTONIC_USEC= when a reload starts and READY=1 when it is done,
//   STOPPING=1 when shutting down, WATCHDOG=1 at half of WATCHDOG_USEC.
// Without NOTIFY_SOCKET (not started by systemd, or Type=simple) every call is a no-op.
// The datagram is sent by the native helper (Node has no AF_UNIX datagram sockets); sending
// never throws: a failure is logged once per kind of message and the resolver goes on.

import type { Logger } from 'pino';
import { sdNotify } from '../native/binding.js';

export type SendFn = (socketPath: string, message: string) => void;

export interface NotifierOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Our PID, compared with WATCHDOG_PID. */
  readonly pid?: number;
  /** The sender; the native helper's sdNotify by default. */
  readonly send?: SendFn;
  readonly log?: Logger;
}

export class Notifier {
  /** $NOTIFY_SOCKET: a path or an abstract name ('@...'); null when not under systemd. */
  readonly socketPath: string | null;
  /** Half of WATCHDOG_USEC in ms, when the watchdog is on and meant for us; else null. */
  readonly watchdogIntervalMs: number | null;
  private readonly send: SendFn;
  private readonly log: Logger | undefined;
  private readonly failed = new Set<string>();

  constructor(opts: NotifierOptions = {}) {
    const env = opts.env ?? process.env;
    const path = env['NOTIFY_SOCKET'];
    this.socketPath = path !== undefined && (path.startsWith('/') || path.startsWith('@')) ? path : null;
    this.watchdogIntervalMs = this.socketPath === null ? null : watchdogInterval(env, opts.pid ?? process.pid);
    this.send = opts.send ?? sdNotify;
    this.log = opts.log;
  }

  get enabled(): boolean {
    return this.socketPath !== null;
  }

  ready(status: string): void {
    this.notify({ READY: '1', STATUS: status });
  }

  status(status: string): void {
    this.notify({ STATUS: status });
  }

  /** A reload starts; follow with ready() when it is done (whether or not it applied). */
  reloading(): void {
    // MONOTONIC_USEC: CLOCK_MONOTONIC in microseconds (process.hrtime uses it on Linux); systemd
    // needs it with RELOADING=1 to tell this reload from an earlier one (Type=notify-reload).
    this.notify({ RELOADING: '1', MONOTONIC_USEC: String(process.hrtime.bigint() / 1000n), STATUS: 'reloading the configuration' });
  }

  stopping(): void {
    this.notify({ STOPPING: '1', STATUS: 'stopping' });
  }

  watchdog(): void {
    this.notify({ WATCHDOG: '1' });
  }

  /**
   * Pings the watchdog from the event loop at half of WATCHDOG_USEC: when the loop is stuck the
   * pings stop and systemd restarts the service (WatchdogSec=, Restart=on-failure).
   * Returns the function that stops the pings; a no-op when there is no watchdog.
   */
  startWatchdog(): () => void {
    const ms = this.watchdogIntervalMs;
    if (ms === null) return () => undefined;
    this.watchdog();
    const timer = setInterval(() => this.watchdog(), ms);
    timer.unref(); // the listeners keep the process alive, not the pings
    return () => clearInterval(timer);
  }

  /** Sends KEY=VALUE lines as one datagram. Values are single lines (STATUS= is sanitized). */
  notify(fields: Readonly<Record<string, string>>): void {
    if (this.socketPath === null) return;
    const message = Object.entries(fields)
      .map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}`)
      .join('\n');
    try {
      this.send(this.socketPath, message);
    } catch (e) {
      const kind = Object.keys(fields)[0] ?? '';
      if (this.failed.has(kind)) return; // a watchdog ping every few seconds: say it once
      this.failed.add(kind);
      this.log?.warn({ err: (e as Error).message, notifySocket: this.socketPath, message: kind }, 'cannot notify the service manager');
    }
  }
}

/**
 * sd_watchdog_enabled(3): WATCHDOG_USEC is a positive integer, and WATCHDOG_PID, when set,
 * names us (a child that inherited the variables must not ping for its parent).
 */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = env['WATCHDOG_USEC'];
  if (usec === undefined || !/^[0-9]+$/.test(usec) || Number(usec) <= 0) return null;
  const owner = env['WATCHDOG_PID'];
  if (owner !== undefined && owner !== '' && owner !== String(pid)) return null;
  // Half the timeout, as sd_watchdog_enabled(3) recommends; at least 1 ms for setInterval.
  return Math.max(1, Math.floor(Number(usec) / 2000));
}
