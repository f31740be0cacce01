// Following files by watching their directories (inotify, through fs.watch). A watch on the file
// itself would follow its inode, and an atomic update (write a temporary file, rename it over
// the old one) makes a new inode: the old watch never fires again. A watch on the directory sees
// the rename, an in-place write, a deletion and a re-creation alike, by the file's name.
//
// A directory that is removed or replaced ends its watch silently (inotify sends IN_IGNORED):
// verify() compares its inode with the one watched and watches it again. A directory that cannot
// be watched (missing, not a directory, out of inotify watches) is reported once per reason and
// retried on the clock at a fixed interval, so nothing is lost once it appears. Also the
// debouncer that turns a burst of events (a hook or an editor writes several) into one check.

import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Clock } from '../clock.js';

export interface DirWatchEvents {
  /** Something happened to a followed file's name, or to its directory: look at the files. */
  changed(): void;
  /** A directory cannot be watched: reported once per directory and reason, then retried. */
  failed(dir: string, why: string): void;
  /** A directory that had failed is watched again (and changed() follows). */
  recovered(dir: string): void;
}

export type WatchFn = (dir: string, listener: (event: string, name: string | null) => void) => FSWatcher;

export interface DirWatchOptions {
  readonly clock: Clock;
  readonly retryMs: number;
  readonly events: DirWatchEvents;
  /** fs.watch by default (tests pass one that fails). */
  readonly watch?: WatchFn;
}

interface Watched {
  watcher: FSWatcher | null;
  /** The inode watched, to notice the directory being removed or replaced. */
  ino: number | null;
  names: ReadonlySet<string>;
  cancelRetry: (() => void) | null;
  failedWhy: string | null;
}

// persistent: false — the listeners keep the process alive, not a watch.
const nodeWatch: WatchFn = (dir, listener) => watch(dir, { persistent: false }, (event, name) => listener(event, name));

export class DirWatch {
  private readonly dirs = new Map<string, Watched>();
  private closed = false;

  constructor(private readonly opts: DirWatchOptions) {}

  /** The directories being watched (or retried), for logs and tests. */
  get directories(): string[] {
    return [...this.dirs.keys()];
  }

  /** From now on follows exactly these files (absolute paths): watches added and dropped to match. */
  follow(files: readonly string[]): void {
    if (this.closed) return;
    const wanted = new Map<string, Set<string>>();
    for (const f of files) wanted.set(dirname(f), (wanted.get(dirname(f)) ?? new Set<string>()).add(basename(f)));
    for (const [dir, w] of this.dirs) {
      if (wanted.has(dir)) continue;
      this.stop(w);
      this.dirs.delete(dir);
    }
    for (const [dir, names] of wanted) {
      const w = this.dirs.get(dir);
      if (w !== undefined) {
        w.names = names;
        continue;
      }
      const fresh: Watched = { watcher: null, ino: null, names, cancelRetry: null, failedWhy: null };
      this.dirs.set(dir, fresh);
      this.open(dir, fresh);
    }
  }

  /** Watches again every directory that was removed or replaced since it was watched. */
  verify(): void {
    for (const [dir, w] of this.dirs) {
      if (w.watcher === null) continue; // already failed: its retry is on the clock
      if (inodeOf(dir) === w.ino) continue;
      this.stop(w);
      this.open(dir, w);
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.dirs.values()) this.stop(w);
    this.dirs.clear();
  }

  private open(dir: string, w: Watched): void {
    w.cancelRetry = null;
    try {
      const st = statSync(dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      const self = basename(dir);
      const watcher = (this.opts.watch ?? nodeWatch)(dir, (_event, name) => {
        // The directory's own name: it was removed or moved (verify() tells which).
        if (name === null || w.names.has(name) || name === self) this.opts.events.changed();
      });
      watcher.on('error', (err) => {
        if (w.watcher !== watcher) return;
        this.stop(w);
        this.fail(dir, w, err);
      });
      w.watcher = watcher;
      w.ino = st.ino;
    } catch (err) {
      this.fail(dir, w, err);
      return;
    }
    if (w.failedWhy !== null) {
      w.failedWhy = null;
      this.opts.events.recovered(dir);
      this.opts.events.changed(); // the file may have appeared while nobody watched
    }
  }

  private fail(dir: string, w: Watched, err: unknown): void {
    if (this.closed || this.dirs.get(dir) !== w) return;
    const why = describeWatchError(err);
    if (w.failedWhy !== why) {
      w.failedWhy = why;
      this.opts.events.failed(dir, why);
    }
    w.cancelRetry = this.opts.clock.after(this.opts.retryMs, () => {
      if (!this.closed && this.dirs.get(dir) === w) this.open(dir, w);
    });
  }

  private stop(w: Watched): void {
    const { watcher } = w;
    w.watcher = null;
    w.cancelRetry?.();
    w.cancelRetry = null;
    try {
      watcher?.close();
    } catch {
      /* already closed */
    }
  }
}

function inodeOf(dir: string): number | null {
  try {
    const st = statSync(dir);
    return st.isDirectory() ? st.ino : null;
  } catch {
    return null;
  }
}

function describeWatchError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such directory';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'out of inotify watches (fs.inotify.max_user_watches)';
  if (code === 'EMFILE') return 'out of inotify instances (fs.inotify.max_user_instances)';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Calls `fn` once a burst of poke()s has been quiet for `quietMs`, and at the latest `maxWaitMs`
 * after the burst's first poke (a file rewritten without pause is still looked at). One timer.
 */
export class Debouncer {
  private cancel: (() => void) | null = null;
  private firstAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
    private readonly fn: () => void,
  ) {}

  get pending(): boolean {
    return this.cancel !== null;
  }

  poke(): void {
    const now = this.clock.now();
    if (this.cancel === null) this.firstAt = now;
    else this.cancel();
    const due = Math.min(now + this.quietMs, this.firstAt + this.maxWaitMs);
    this.cancel = this.clock.after(Math.max(0, due - now), () => {
      this.cancel = null;
      this.fn();
    });
  }

  close(): void {
    this.cancel?.();
    this.cancel = null;
  }
}
