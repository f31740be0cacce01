// Long-running child processes for integration tests (the resolver under test, dnsmasq, unbound,
// echo responders): output captured line by line (pino JSON parsed when possible), bounded waits
// for a log line, and a stop() that always ends the process (SIGTERM, then SIGKILL after a bound).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';

/** Repository root, from this file's location (test/helpers/process.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESOLVER_MAIN = `${REPO_ROOT}dist/main.js`;

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** The line parsed as a JSON object (pino), when it is one. */
  json?: Record<string, unknown>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_LINES = 100_000; // bound memory if something logs in a loop
const hostChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class ManagedProcess {
  readonly lines: LogLine[] = [];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | undefined;
  private readonly waiters = new Set<(l: LogLine | undefined) => void>();

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const src = child[stream];
      if (!src) continue;
      createInterface({ input: src, crlfDelay: Infinity }).on('line', (text) => this.push({ stream, text, json: parseJson(text) }));
    }
    this.exited = new Promise((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.exit) return;
        this.exit = info;
        for (const w of this.waiters) w(undefined); // wake waiters so they fail fast
        resolve(info);
      };
      // Prefer 'close' so every line has been read before we report the exit, but do not wait
      // for it for long: a grandchild that inherited our pipes (dnsmasq forks for TCP) delays it.
      child.once('exit', (code, signal) => setTimeout(() => done({ code, signal }), 500).unref());
      child.once('close', (code, signal) => done({ code, signal }));
      child.once('error', () => done({ code: null, signal: null }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Exit code/signal once exited, else undefined. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** All captured output, for assertion messages. */
  output(): string {
    return this.lines.map((l) => (l.stream === 'stderr' ? `[err] ${l.text}` : l.text)).join('\n');
  }

  private push(line: LogLine): void {
    if (this.lines.length >= MAX_LINES) this.lines.shift();
    this.lines.push(line);
    for (const w of this.waiters) w(line);
  }

  /** First line (already seen or future) matching `pred`; rejects on timeout or process exit. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 5_000): Promise<LogLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        cleanup();
        const tail = this.lines.slice(-20).map((l) => l.text).join('\n');
        reject(new Error(`${this.label}: ${why} waiting for log line; last output:\n${tail}`));
      };
      const waiter = (l: LogLine | undefined): void => {
        if (l === undefined) return fail(`exited (${JSON.stringify(this.exit)})`);
        if (pred(l)) {
          cleanup();
          resolve(l);
        }
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (this.exit) return fail(`already exited (${JSON.stringify(this.exit)})`);
      this.waiters.add(waiter);
    });
  }

  /** Sends `signal` (default SIGTERM); SIGKILL if still alive after graceMs. Safe to call twice. */
  async stop(graceMs = 3_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    const timeout = (ms: number): Promise<undefined> => new Promise((r) => setTimeout(() => r(undefined), ms).unref());
    const first = await Promise.race([this.exited, timeout(graceMs)]);
    if (first) return first;
    this.child.kill('SIGKILL');
    const second = await Promise.race([this.exited, timeout(2_000)]);
    if (!second) throw new Error(`${this.label} (pid ${String(this.pid)}) survived SIGKILL for 2 s`);
    return second;
  }
}

export interface SpawnOpts {
  env?: Record<string, string>;
  label?: string;
}

/** Spawns `cmd args` on the host (ns null) or inside `ns` (tracked there and killed by ns.destroy()). */
export function spawnManaged(ns: Netns | null, cmd: string, args: readonly string[], opts: SpawnOpts = {}): ManagedProcess {
  const label = opts.label ?? `${cmd}${ns ? `@${ns.name}` : ''}`;
  if (ns) return new ManagedProcess(ns.spawn(cmd, args, { env: opts.env }), label);
  const child = spawn(cmd, [...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  hostChildren.add(child);
  child.once('exit', () => hostChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort for host-side children if a test forgot stop(): never leave them running.
    process.once('exit', () => {
      for (const c of hostChildren) c.kill('SIGKILL');
    });
  }
  return new ManagedProcess(child, label);
}

/** Runs a Node script with the same node binary as the tests. */
export function spawnNode(ns: Netns | null, scriptPath: string, args: readonly string[], opts: SpawnOpts = {}): ManagedProcess {
  return spawnManaged(ns, process.execPath, [scriptPath, ...args], { label: `node ${scriptPath}`, ...opts });
}

/**
 * `dist/main.js run ...args`, executed as the installed command is: through its #! line, with
 * the node flags it carries (build first: `npm run build:ts`).
 */
export function spawnResolver(ns: Netns | null, args: readonly string[], opts: SpawnOpts = {}): ManagedProcess {
  // No control socket unless the test asks for one: the default path (/run/vrf-resolver/) is
  // shared by every instance on the host, and parallel tests would take it from each other.
  const control = args.some((a) => a === '--control' || a.startsWith('--control=')) ? [] : ['--control', ''];
  return spawnManaged(ns, RESOLVER_MAIN, ['run', ...args, ...control], { label: `resolver${ns ? `@${ns.name}` : ''}`, ...opts });
}

/** Predicate for waitForLog: a pino line whose `msg` contains `text` (and optional field matches). */
export function pinoMsg(text: string, fields: Record<string, unknown> = {}): (l: LogLine) => boolean {
  return (l) =>
    l.json !== undefined &&
    typeof l.json['msg'] === 'string' &&
    l.json['msg'].includes(text) &&
    Object.entries(fields).every(([k, v]) => l.json?.[k] === v);
}
