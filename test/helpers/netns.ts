// Network namespaces for integration tests. Every namespace a test creates is named with the
// prefix `vr`, claimed by a marker file holding the creating process's pid and start time, and
// deleted by destroy(), by an 'exit' hook, or by cleanupStale() in a later run if the creator died.
// Nothing here touches the host's own interfaces, routes or /etc/resolv.conf: devices are created
// directly inside our namespaces and resolv.conf overrides live under /etc/netns/<name>/.

import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { run, runOk, sleep, type ExecOptions, type ExecResult } from './exec.js';

export const NS_PREFIX = 'vr';
export const MARKER_DIR = '/run/vrf-resolver-test';
const IFNAMSIZ_MAX = 15; // kernel limit for interface names; we keep netns names within it too

let counter = 0;

/** A name `vr<pid%10000><tag><n>`, ≤ 15 chars, unique within this process (markers make it global). */
export function uniqueName(tag: string): string {
  counter += 1;
  const name = `${NS_PREFIX}${process.pid % 10_000}${tag}${counter}`;
  if (name.length > IFNAMSIZ_MAX || !/^[A-Za-z0-9]+$/.test(tag)) {
    throw new Error(`uniqueName: '${name}' too long or tag not alphanumeric; use a shorter tag`);
  }
  return name;
}

export interface Owner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat; distinguishes a reused pid from the original process. */
  start: string;
}

export function markerPath(name: string): string {
  return `${MARKER_DIR}/${name}`;
}

/** Per-namespace scratch space (server configs, query logs), removed with the namespace. */
export function scratchRoot(name: string): string {
  return `${tmpdir()}/vrf-resolver-test/${name}`;
}

/** Everything we keep on disk for a namespace besides the namespace itself. */
function removeFiles(name: string): void {
  rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  rmSync(scratchRoot(name), { recursive: true, force: true });
  rmSync(markerPath(name), { force: true });
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces, so count fields after its closing paren.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function selfOwner(): Owner {
  return { pid: process.pid, start: startTimeOf(process.pid) ?? '?' };
}

function ownerAlive(o: Owner): boolean {
  return startTimeOf(o.pid) === o.start;
}

function readMarker(name: string): Owner | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(markerPath(name), 'utf8'));
    if (typeof v === 'object' && v !== null && 'pid' in v && 'start' in v) {
      const { pid, start } = v as { pid: unknown; start: unknown };
      if (typeof pid === 'number' && typeof start === 'string') return { pid, start };
    }
  } catch {
    /* missing or garbled: not ours to judge */
  }
  return undefined;
}

/** Names of all namespaces (`ip netns list` prints "name (id: N)"). */
export async function listNamespaces(): Promise<string[]> {
  const r = await runOk('ip', ['netns', 'list']);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/** Deletes `vr*` namespaces whose marker names a dead creator. Unmarked namespaces are left alone. */
export async function cleanupStale(): Promise<string[]> {
  mkdirSync(MARKER_DIR, { recursive: true });
  const candidates = new Set([...(await listNamespaces()), ...readdirSync(MARKER_DIR)]);
  const removed: string[] = [];
  for (const name of candidates) {
    if (!name.startsWith(NS_PREFIX)) continue;
    const owner = readMarker(name);
    if (owner === undefined || ownerAlive(owner)) continue;
    await killAllIn(name);
    await run('ip', ['netns', 'del', name]);
    removeFiles(name);
    removed.push(name);
  }
  return removed;
}

/** SIGKILLs whatever still runs inside a namespace we own (e.g. dnsmasq's forked TCP children). */
async function killAllIn(name: string): Promise<void> {
  const r = await run('ip', ['netns', 'pids', name], { timeoutMs: 5_000 });
  for (const pid of r.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

const live = new Set<Netns>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when afterAll never ran (crash, process.exit). Must be synchronous.
  process.once('exit', () => {
    for (const ns of live) ns.destroySync();
  });
}

export interface SpawnOptions {
  stdio?: StdioOptions;
  env?: Record<string, string>;
}

export class Netns {
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;
  private destroying: Promise<void> | undefined;

  private constructor(readonly name: string) {}

  /** Creates `vr<pid><tag><n>`; the marker is claimed first (O_EXCL) so two processes never share a name. */
  static async create(tag: string): Promise<Netns> {
    mkdirSync(MARKER_DIR, { recursive: true });
    for (let attempt = 0; attempt < 20; attempt++) {
      const name = uniqueName(tag);
      try {
        writeFileSync(markerPath(name), JSON.stringify(selfOwner()), { flag: 'wx' });
      } catch {
        continue; // another process with the same pid%10000 holds this name
      }
      const r = await run('ip', ['netns', 'add', name]);
      if (r.code !== 0) {
        // Not ours (e.g. an unmarked namespace of that name): release the claim, never delete it.
        rmSync(markerPath(name), { force: true });
        if (r.stderr.includes('exists')) continue;
        throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
      }
      const ns = new Netns(name);
      live.add(ns);
      installExitHook();
      try {
        await runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      } catch (err) {
        await ns.destroy();
        throw err;
      }
      return ns;
    }
    throw new Error(`Netns.create(${tag}): no free name after 20 attempts`);
  }

  /** Runs a command inside the namespace (with /etc/netns/<name>/* bind-mounted over /etc). */
  exec(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Long-running child inside the namespace; killed by destroy(). `ip netns exec` execs, so pid is the command's. */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.destroyed) throw new Error(`netns ${this.name} already destroyed`);
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** `ip netns exec` bind-mounts this file over /etc/resolv.conf for commands run in the namespace. */
  writeResolvConf(text: string): void {
    mkdirSync(`/etc/netns/${this.name}`, { recursive: true });
    writeFileSync(`/etc/netns/${this.name}/resolv.conf`, text);
  }

  /** A fresh directory under scratchRoot(name); deleted by destroy() or cleanupStale(). */
  makeTempDir(tag: string): string {
    mkdirSync(scratchRoot(this.name), { recursive: true });
    return mkdtempSync(`${scratchRoot(this.name)}/${tag}-`);
  }

  /** Kills children (TERM, then KILL after 2 s), anything else left inside, then deletes it. Idempotent. */
  destroy(): Promise<void> {
    // Memoized: a second concurrent caller waits for the same teardown instead of racing it.
    this.destroying ??= this.destroyed ? Promise.resolve() : this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    this.destroyed = true;
    for (const c of this.children) c.kill('SIGTERM');
    for (let i = 0; i < 40 && this.children.size > 0; i++) await sleep(50);
    for (const c of this.children) c.kill('SIGKILL');
    await killAllIn(this.name);
    await run('ip', ['netns', 'del', this.name]);
    removeFiles(this.name);
    live.delete(this);
  }

  /** Synchronous variant for the process 'exit' hook, where promises no longer run. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) c.kill('SIGKILL');
    try {
      const pids = execFileSync('ip', ['netns', 'pids', this.name], { timeout: 5_000, encoding: 'utf8' });
      for (const p of pids.split(/\s+/).filter((x) => /^\d+$/.test(x))) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      execFileSync('ip', ['netns', 'del', this.name], { timeout: 5_000, stdio: 'ignore' });
    } catch {
      /* best effort: cleanupStale() in the next run removes leftovers */
    }
    removeFiles(this.name);
    live.delete(this);
  }
}

export { buildTwinUpstreams, type TwinUpstreams } from './topology.js';
