// Running external commands (ip, dig, getent, python3 ...) from tests with a hard time bound.
// Every child is killed when its deadline passes, so a hung tool can never hang the test run.

import { spawn } from 'node:child_process';

export interface ExecResult {
  /** Exit code, or null when the child died from a signal (e.g. our timeout kill). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill the child (SIGKILL) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 10_000;

/** Runs `cmd args` without a shell and resolves (never rejects on a non-zero exit). */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    // stdin errors (EPIPE when the child ignores its input) are irrelevant to the result.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but throws with the command's stderr when it fails: for setup steps that must work. */
export async function runOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : `exit ${String(r.code)}`;
    throw new Error(`${cmd} ${args.join(' ')}: ${why}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

/** Polls `check` until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // The loop is bounded by the deadline; the attempt cap is a second guard against a clock jump.
  for (let attempt = 0; attempt < 100_000; attempt++) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
