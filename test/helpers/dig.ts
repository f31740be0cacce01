// dig and getent as black-box DNS clients: run on the host (for 127.0.0.1 tests) or inside a
// namespace, and parse their text output into something tests can assert on.

import { run, type ExecResult } from './exec.js';
import type { Netns } from './netns.js';

export interface DigRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  /** Everything after the type, as dig prints it (TXT keeps its quotes). */
  data: string;
}

export interface DigResult {
  /** True when dig printed a response header (it got an answer of any rcode). */
  ok: boolean;
  exitCode: number | null;
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED ... */
  status?: string;
  id?: number;
  /** Header flags: qr, aa, tc, rd, ra, ad, cd. */
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** From `;; SERVER: addr#port(name) (UDP|TCP)`. */
  server?: { address: string; port: number; proto?: string };
  queryTimeMs?: number;
  stdout: string;
  stderr: string;
}

/** +tries=1 +time=2 keep a lost query to ~2 s; caller args come later and override them. */
export const DIG_DEFAULTS = ['+tries=1', '+time=2'];

function exec(ns: Netns | null, cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return ns ? ns.exec(cmd, args, { timeoutMs }) : run(cmd, args, { timeoutMs });
}

const RECORD_RE = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s*(.*)$/;

export function parseDig(stdout: string, stderr = '', exitCode: number | null = 0): DigResult {
  const r: DigResult = { ok: false, exitCode, flags: [], answer: [], authority: [], additional: [], stdout, stderr };
  let section: DigRecord[] | undefined;
  for (const line of stdout.split('\n')) {
    const header = /^;; ->>HEADER<<- opcode: \S+, status: (\w+), id: (\d+)/.exec(line);
    if (header) {
      r.ok = true;
      r.status = header[1];
      r.id = Number(header[2]);
      continue;
    }
    const flags = /^;; flags:([^;]*);/.exec(line);
    if (flags) {
      r.flags = (flags[1] ?? '').trim().split(/\s+/).filter((f) => f !== '');
      continue;
    }
    const sec = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (sec) {
      section = sec[1] === 'ANSWER' ? r.answer : sec[1] === 'AUTHORITY' ? r.authority : r.additional;
      continue;
    }
    const server = /^;; SERVER: (.+)#(\d+)\(([^)]*)\)(?: \((\w+)\))?/.exec(line);
    if (server) {
      r.server = { address: server[1] ?? '', port: Number(server[2]), proto: server[4] };
      continue;
    }
    const qt = /^;; Query time: (\d+) msec/.exec(line);
    if (qt) {
      r.queryTimeMs = Number(qt[1]);
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') section = undefined; // a blank line ends a section
      continue;
    }
    const rec = RECORD_RE.exec(line);
    if (section && rec) {
      section.push({ name: rec[1] ?? '', ttl: Number(rec[2]), class: rec[3] ?? '', type: rec[4] ?? '', data: rec[5] ?? '' });
    }
  }
  return r;
}

/** Runs `dig +tries=1 +time=2 ...args` on the host (ns null) or inside ns. Never throws on DNS errors. */
export async function dig(ns: Netns | null, args: readonly string[], timeoutMs = 10_000): Promise<DigResult> {
  const res = await exec(ns, 'dig', [...DIG_DEFAULTS, ...args], timeoutMs);
  return parseDig(res.stdout, res.stderr, res.code);
}

export interface QueryOpts {
  port?: number;
  tcp?: boolean;
  /** Extra dig options, e.g. ['+norec', '+dnssec']. */
  extra?: string[];
}

/** dig @server -p port name type [+tcp]. */
export function digQuery(ns: Netns | null, server: string, name: string, type = 'A', o: QueryOpts = {}): Promise<DigResult> {
  const args = [`@${server}`, '-p', String(o.port ?? 53), name, type, ...(o.tcp ? ['+tcp'] : []), ...(o.extra ?? [])];
  return dig(ns, args);
}

/** Answer data of the given type (default: all), e.g. ['192.0.2.1']. */
export function answers(r: DigResult, type?: string): string[] {
  return r.answer.filter((a) => type === undefined || a.type === type).map((a) => a.data);
}

export interface GetentResult {
  /** 0 found, 2 not found (getent's convention), null on timeout. */
  code: number | null;
  /** Whitespace-split lines, e.g. ['192.0.2.1', 'STREAM', 'www.example.test'] for ahosts. */
  rows: string[][];
  /** Distinct first columns (the addresses, for hosts/ahosts*), in order. */
  addresses: string[];
  stdout: string;
  stderr: string;
}

/**
 * `getent <db> <key>` through glibc's resolver; inside a namespace it reads
 * /etc/netns/<ns>/resolv.conf (see Netns.writeResolvConf). Use `options timeout:1 attempts:1`
 * there so a dead server fails fast.
 */
export async function getent(ns: Netns | null, db: string, key: string, timeoutMs = 15_000): Promise<GetentResult> {
  const res = await exec(ns, 'getent', [db, key], timeoutMs);
  const rows = res.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[0] !== undefined && cols[0] !== '');
  const addresses = [...new Set(rows.map((cols) => cols[0] ?? ''))];
  return { code: res.code, rows, addresses, stdout: res.stdout, stderr: res.stderr };
}
