// How host/read.ts touches the machine: run a command, read a file, look at a path. Passed in,
// so unit tests replay a recorded host and the real one is only read through here. Nothing
// throws for a missing tool or a denied read: the result says so, and read.ts turns it into
// an "unknown" fact.

import { spawn } from 'node:child_process';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';

export interface RunResult {
  /** The exit code; null when the command could not be started (see `error`) or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it did not run: "ENOENT" for a tool that is not installed. */
  readonly error?: string;
}

export interface HostIo {
  /** timeoutMs: longer than the default for a command that starts services (setup). */
  run(cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** The file's text; rejects with the errno error (ENOENT, EACCES). */
  readFile(path: string): Promise<string>;
  /** The symlink's target as written, null for a file that is not a symlink; rejects on ENOENT. */
  readLink(path: string): Promise<string | null>;
  /** The names in a directory; rejects with the errno error. */
  readDir(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

/** Commands get a bound: a hung `systemctl` (no bus) must not hang doctor. */
const RUN_TIMEOUT_MS = 10_000;

export const realHostIo: HostIo = {
  run(cmd, args, timeoutMs = RUN_TIMEOUT_MS) {
    return new Promise((resolve) => {
      const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, error: e.code ?? e.message }));
      child.on('close', (code, signal) => resolve({ code, stdout, stderr, ...(signal !== null && { error: `killed by ${signal} (timed out after ${timeoutMs} ms?)` }) }));
    });
  },
  readFile: (path) => readFile(path, 'utf8'),
  async readLink(path) {
    const st = await lstat(path);
    return st.isSymbolicLink() ? readlink(path) : null;
  },
  readDir: (path) => readdir(path),
  async exists(path) {
    try {
      await lstat(path);
      return true;
    } catch {
      return false;
    }
  },
};

/** "EACCES" for an errno error, else its message: what an "unknown" fact says. */
export function errnoOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? (err instanceof Error ? err.message : String(e));
}

/** Why a command gave nothing usable, for an "unknown" fact. */
export function runProblem(cmd: string, args: readonly string[], r: RunResult): string {
  const line = `${cmd} ${args.join(' ')}`;
  if (r.error === 'ENOENT') return `could not run ${line}: ${cmd} is not installed`;
  if (r.error !== undefined) return `could not run ${line}: ${r.error}`;
  const said = r.stderr.trim().split('\n')[0] ?? '';
  return `${line} failed (exit ${String(r.code)})${said === '' ? '' : `: ${said}`}`;
}
