// The ResolvConf= file, followed while the instance runs (ARCHITECTURE.md, Reload). A DHCP hook
// rewrites it for the VRF; a changed server list then applies without a restart, by the same
// path as SIGHUP: the whole configuration is loaded again with the same options, app.reload()
// applies it (reload-plan.ts keeps the cache when the servers are the same set) and the control
// plane re-applies its settings. Checks run on run.ts's reload chain, so a file change and a
// SIGHUP never overlap, and at most one check waits on it at a time.
//
// The file's contents are untrusted: a file that is missing, not a regular file, too large or
// without a usable nameserver line changes nothing but one warn line (once per reason); the old
// servers keep serving until the file is good again. Its directory is watched, not the file
// (dir-watch.ts says why); a symlinked file is followed at its target's directory too.

import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { App } from '../app.js';
import { systemClock, type Clock } from '../clock.js';
import { formatEndpoint, sameEndpoint } from '../config/endpoint.js';
import { parseIni } from '../config/ini.js';
import { loadConfig, type LoadOptions } from '../config/load.js';
import { describeReadError, parseResolvConf } from '../config/resolv-conf.js';
import type { Config, Endpoint } from '../config/types.js';
import type { ControlPlane } from '../control/plane.js';
import { ConfigError } from '../errors.js';
import type { Notifier } from '../systemd/notify.js';
import { statusLine } from '../systemd/status.js';
import { Debouncer, DirWatch, type WatchFn } from './dir-watch.js';

/** A resolv.conf is a few lines; anything larger is not one (and is not read into memory). */
export const MAX_FILE_BYTES = 64 * 1024;
const QUIET_MS = 150;
const MAX_WAIT_MS = 1_000;
const RETRY_MS = 5_000;
/** Problems quoted in one warn line; the rest are counted. */
const MAX_PROBLEMS = 3;
const MAX_PROBLEM_CHARS = 200;

export interface UpstreamFileOptions {
  readonly load: LoadOptions;
  readonly log: Logger;
  /** The configuration being served. */
  current(): Config;
  /** Applies a configuration whose upstream servers differ; may throw (logged, nothing changes). */
  apply(next: Config): Promise<void>;
  /** Queues a job behind the reloads already queued (run.ts's chain); the job never rejects. */
  serialize(job: () => Promise<void>): void;
  readonly clock?: Clock;
  /** Where 'SIGHUP' is heard: after a reload, ResolvConf= may name another file. process by default. */
  readonly signals?: EventEmitter;
  readonly quietMs?: number;
  readonly maxWaitMs?: number;
  readonly retryMs?: number;
  readonly watch?: WatchFn;
  readonly loadConfig?: (opts: LoadOptions) => Config;
}

/** run.ts's side: the follower wired to the App, the control plane and sd_notify. */
export function followUpstreamFile(deps: {
  readonly app: App;
  readonly plane: ControlPlane;
  readonly notifier: Notifier;
  readonly load: LoadOptions;
  readonly log: Logger;
  readonly serialize: (job: () => Promise<void>) => void;
}): UpstreamFileFollower {
  const { app, plane, notifier, log } = deps;
  return new UpstreamFileFollower({
    load: deps.load,
    log,
    serialize: deps.serialize,
    current: () => app.currentConfig,
    // What run.ts's reload() does once it has a valid config.
    apply: async (next) => {
      notifier.reloading();
      try {
        if ((next.logFormat ?? null) !== (app.currentConfig.logFormat ?? null)) {
          log.warn({ logFormat: next.logFormat ?? 'auto' }, 'LogFormat= changes apply at the next restart');
        }
        if ((await app.reload(next)).applied) await plane.apply(next);
      } finally {
        notifier.ready(statusLine(app));
      }
    },
  });
}

export class UpstreamFileFollower {
  private readonly dirs: DirWatch;
  private readonly debounce: Debouncer;
  private readonly signals: EventEmitter;
  private readonly onHup = (): void => this.schedule(false);
  /** The config whose ResolvConf= is followed (identity: a reload makes a new one). */
  private followedConfig: Config | null = null;
  private file: string | null = null;
  private queued = false;
  private wantCheck = false;
  /** The reason last warned about; null while the file is good. */
  private warned: string | null = null;
  private closed = false;

  constructor(private readonly opts: UpstreamFileOptions) {
    const clock = opts.clock ?? systemClock;
    const { log } = opts;
    this.debounce = new Debouncer(clock, opts.quietMs ?? QUIET_MS, opts.maxWaitMs ?? MAX_WAIT_MS, () => this.schedule(true));
    this.dirs = new DirWatch({
      clock,
      retryMs: opts.retryMs ?? RETRY_MS,
      ...(opts.watch !== undefined && { watch: opts.watch }),
      events: {
        changed: () => this.debounce.poke(),
        failed: (dir, why) => log.warn({ file: this.file, dir, why, retryMs: opts.retryMs ?? RETRY_MS },
          'cannot watch the directory of the ResolvConf file; retrying (until then a change applies on SIGHUP)'),
        recovered: (dir) => log.info({ file: this.file, dir }, 'watching the directory of the ResolvConf file again'),
      },
    });
    this.signals = opts.signals ?? process;
    this.signals.on('SIGHUP', this.onHup);
    this.retarget();
    this.schedule(true); // closes the window between loading the config and watching the file
  }

  /** The file followed now (absolute), or null when ResolvConf= is not set. */
  get followed(): string | null {
    return this.file;
  }

  get directories(): string[] {
    return this.dirs.directories;
  }

  /** Stops watching; a check already queued does nothing. Leaves no timer behind. */
  close(): void {
    this.closed = true;
    this.signals.off('SIGHUP', this.onHup);
    this.debounce.close();
    this.dirs.close();
  }

  /** One job on the reload chain at a time; what it should do accumulates until it runs. */
  private schedule(check: boolean): void {
    if (this.closed) return;
    this.wantCheck ||= check;
    if (this.queued) return;
    this.queued = true;
    this.opts.serialize(() => this.run());
  }

  private async run(): Promise<void> {
    this.queued = false;
    const check = this.wantCheck;
    this.wantCheck = false;
    if (this.closed) return;
    try {
      this.retarget(); // after a SIGHUP reload: ResolvConf= may have moved
      this.dirs.verify();
      if (check) await this.check();
      this.retarget(); // an applied change may have moved it too
    } catch (e) {
      this.opts.log.error({ file: this.file, err: (e as Error).message }, 'applying the ResolvConf file failed; the old configuration keeps serving');
    }
  }

  private retarget(): void {
    const config = this.opts.current();
    if (config === this.followedConfig) return;
    this.followedConfig = config;
    const file = resolvConfFileOf(this.opts.load, config);
    if (file === this.file) return;
    const was = this.file;
    this.file = file;
    this.warned = null;
    this.dirs.follow(file === null ? [] : followedPaths(file));
    if (file !== null) this.opts.log.info({ file, ...(was !== null && { was }), watching: this.dirs.directories }, 'following the ResolvConf file');
    else if (was !== null) this.opts.log.info({ was }, 'ResolvConf= is no longer set; the file is no longer followed');
  }

  private async check(): Promise<void> {
    const file = this.file;
    if (file === null) return;
    // A symlink's target may have moved to another directory: follow where it points now.
    this.dirs.follow(followedPaths(file));
    const { log } = this.opts;
    const current = this.opts.current().upstream.servers;
    const read = readBounded(file, MAX_FILE_BYTES);
    if (!read.ok) return this.unusable(file, read.why, current);
    const parsed = parseResolvConf(read.text, file);
    if (parsed.problems.length > 0) return this.unusable(file, summarize(parsed.problems), current);
    let next: Config;
    try {
      next = (this.opts.loadConfig ?? loadConfig)(this.opts.load);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return this.unusable(file, `the configuration with it is invalid: ${summarize(e.problems)}`, current);
    }
    const servers = next.upstream.servers;
    const recovered = this.warned !== null;
    this.warned = null;
    if (sameServers(current, servers)) {
      if (recovered) log.info({ file, upstreams: labels(current) }, 'the ResolvConf file is usable again; the upstream servers are the same');
      else log.debug({ file, upstreams: labels(current) }, 'the ResolvConf file was read; the upstream servers are the same');
      return;
    }
    log.info({ trigger: 'ResolvConf changed', file, old: labels(current), new: labels(servers) },
      'the upstream servers in the ResolvConf file changed; reloading');
    await this.opts.apply(next);
  }

  private unusable(file: string, why: string, current: readonly Endpoint[]): void {
    if (this.warned === why) return; // said already; rewrites with the same fault stay quiet
    this.warned = why;
    this.opts.log.warn({ file, why, upstreams: labels(current) }, 'the ResolvConf file is not usable; the old upstream servers keep serving');
  }
}

/** The same servers in the same order (the order is the preference). */
export function sameServers(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((x, i) => sameEndpoint(x, b[i]!));
}

/**
 * The ResolvConf= of a loaded config, as load.ts layers it: --resolv-conf wins, else the last
 * ResolvConf= of the files that were read; empty means none. Relative to the working directory,
 * as the loader reads it.
 */
export function resolvConfFileOf(load: LoadOptions, config: Config): string | null {
  let value = load.flags.resolvConf;
  if (value === undefined) {
    for (const file of config.configFiles ?? []) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // it was read a moment ago; a file gone since changes nothing that applies
      }
      for (const e of parseIni(text, file).entries) if (e.key === 'ResolvConf') value = e.value;
    }
  }
  return value === undefined || value === '' ? null : resolve(value);
}

/** The file, and where it points when it is a symlink (an update there is an update to it). */
function followedPaths(file: string): string[] {
  try {
    const real = realpathSync(file);
    return real === file ? [file] : [file, real];
  } catch {
    return [file];
  }
}

export type BoundedRead = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly why: string };

/**
 * Reads a regular file of at most `maxBytes`. Opened non-blocking and checked on the open
 * descriptor, so a FIFO or a device put in its place never blocks the event loop, and a huge
 * file is refused without being read.
 */
export function readBounded(file: string, maxBytes: number): BoundedRead {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { ok: false, why: describeReadError(file, err) };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, why: `${file} is a directory, expected a file` };
    if (!st.isFile()) return { ok: false, why: `${file} is not a regular file` };
    if (st.size > maxBytes) return { ok: false, why: `${file} is ${st.size} bytes, more than ${maxBytes}: not a resolv.conf` };
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buf.length;) {
      n = readSync(fd, buf, length, buf.length - length, null);
      length += n;
    }
    if (length > maxBytes) return { ok: false, why: `${file} grew past ${maxBytes} bytes while being read` };
    return { ok: true, text: buf.toString('utf8', 0, length) };
  } catch (err) {
    return { ok: false, why: describeReadError(file, err) };
  } finally {
    closeSync(fd);
  }
}

/** "file:3 nameserver: not an address; ... (and 12 more)", bounded whatever the file holds. */
function summarize(problems: readonly { path: string; message: string }[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => {
    const text = `${p.path}: ${p.message}`;
    return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
  });
  const more = problems.length - shown.length;
  return shown.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}

function labels(servers: readonly Endpoint[]): string[] {
  return servers.map(formatEndpoint);
}
