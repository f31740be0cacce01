// A real dnsmasq as the upstream DNS server inside a namespace, with its query log in a file so
// tests can count how many queries actually reached the upstream (cache hits must not).
//
// Two modes (verified with dnsmasq 2.90):
// - 'local' (default): --local=/zone/. Records keep their own TTLs (host-record/cname accept one;
//   TXT/MX get localTtl). Unknown names in the zone get NXDOMAIN, and NODATA for a missing type,
//   WITHOUT an SOA in the authority section and without the aa flag: no negative-caching TTL.
// - 'auth': --auth-zone/--auth-server on the listen addresses. Answers are authoritative (aa, no
//   ra, an NS record in authority), negative answers carry the zone SOA (TTL and MINIMUM equal
//   authTtl), but EVERY record gets authTtl: per-record TTLs are ignored.
// Names outside the zone are REFUSED in both modes (--no-resolv: nothing is forwarded).
// For negative answers with an SOA and per-record TTLs at once, use unbound (unbound.ts).

import { readFileSync, rmSync } from 'node:fs';
import { digQuery } from './dig.js';
import { waitFor } from './exec.js';
import type { Netns } from './netns.js';
import { spawnManaged, type ExitInfo, type ManagedProcess } from './process.js';

export type DnsRecord =
  | { name: string; type: 'A' | 'AAAA'; value: string; ttl?: number }
  | { name: string; type: 'CNAME'; value: string; ttl?: number }
  | { name: string; type: 'TXT'; value: string | readonly string[] }
  | { name: string; type: 'MX'; value: string; preference?: number };

export interface DnsmasqOptions {
  /** Addresses to listen on (UDP and TCP); they must exist in the namespace. */
  listen: string[];
  port?: number;
  records?: DnsRecord[];
  /** Zone served locally; default example.test. */
  zone?: string;
  mode?: 'local' | 'auth';
  /** TTL for records without their own (--local-ttl); default 300. */
  localTtl?: number;
  /** 'auth' mode: TTL of every answer and of the SOA/negative answers; default 300. */
  authTtl?: number;
  extraArgs?: string[];
}

export interface LoggedQuery {
  name: string;
  type: string;
  client: string;
}

export interface UpstreamServer {
  proc: ManagedProcess;
  logFile: string;
  /** Queries logged so far, excluding our readiness probes. */
  queries(): LoggedQuery[];
  /** Number of queries that reached the server, optionally for one name (case/trailing-dot insensitive) and type. */
  queryCount(name?: string, type?: string): number;
  /** Bounded wait until queryCount(name, type) >= n (the log is written asynchronously). */
  waitForQueries(n: number, name?: string, type?: string, timeoutMs?: number): Promise<number>;
  stop(): Promise<ExitInfo>;
}

/** Readiness probes use this name; it is excluded from counts. */
export const PROBE_NAME = 'harness-ready.invalid';

const norm = (n: string): string => n.toLowerCase().replace(/\.$/, '');

function recordArgs(r: DnsRecord, ttl: (t?: number) => string): string[] {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return [`--host-record=${r.name},${r.value}${ttl(r.ttl)}`];
    case 'CNAME':
      return [`--cname=${r.name},${r.value}${ttl(r.ttl)}`];
    case 'TXT':
      return [`--txt-record=${r.name},${(typeof r.value === 'string' ? [r.value] : r.value).join(',')}`];
    case 'MX':
      return [`--mx-host=${r.name},${r.value},${r.preference ?? 10}`];
  }
}

/** Builds an UpstreamServer handle around a started server and its query-log parser. */
export function upstreamHandle(
  proc: ManagedProcess,
  logFile: string,
  parse: (line: string) => LoggedQuery | undefined,
  dir: string,
): UpstreamServer {
  const queries = (): LoggedQuery[] => {
    let text = '';
    try {
      text = readFileSync(logFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .map(parse)
      .filter((q): q is LoggedQuery => q !== undefined && norm(q.name) !== PROBE_NAME);
  };
  const queryCount = (name?: string, type?: string): number =>
    queries().filter((q) => (name === undefined || norm(q.name) === norm(name)) && (type === undefined || q.type === type)).length;
  return {
    proc,
    logFile,
    queries,
    queryCount,
    waitForQueries: (n, name, type, timeoutMs = 3_000) =>
      waitFor(`${n} queries for ${name ?? '*'} in ${logFile}`, () => {
        const c = queryCount(name, type);
        return c >= n ? c : undefined;
      }, timeoutMs),
    stop: async () => {
      const info = await proc.stop();
      rmSync(dir, { recursive: true, force: true });
      return info;
    },
  };
}

/** A DNS server started by startAnswering(): its process, and a stop that also removes its scratch directory. */
export interface RunningServer {
  readonly proc: ManagedProcess;
  stop(): Promise<ExitInfo>;
}

/**
 * Spawns `cmd args` in `ns` and waits until it answers on `listen`#`port`; on failure, or when
 * stopped, the process ends and `dir` (its configuration and state) is removed.
 */
export async function startAnswering(ns: Netns, cmd: string, args: readonly string[], o: { label: string; dir: string; listen: string; port: number }): Promise<RunningServer> {
  const proc = spawnManaged(ns, cmd, args, { label: o.label });
  const stop = async (): Promise<ExitInfo> => {
    const info = await proc.stop();
    rmSync(o.dir, { recursive: true, force: true });
    return info;
  };
  try {
    await waitUntilAnswering(ns, proc, [o.listen], o.port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, stop };
}

/** Polls every listen address over UDP until the server answers anything (bounded). */
export async function waitUntilAnswering(ns: Netns, proc: ManagedProcess, listen: string[], port: number): Promise<void> {
  for (const addr of listen) {
    await waitFor(`${proc.label} answering on ${addr}#${port}`, async () => {
      if (proc.exitInfo) throw new Error(`${proc.label} exited ${JSON.stringify(proc.exitInfo)}:\n${proc.output()}`);
      const r = await digQuery(ns, addr, PROBE_NAME, 'A', { port, extra: ['+time=1'] });
      return r.ok ? true : undefined;
    }, 10_000, 100);
  }
}

// `... dnsmasq[pid]: 7 fd53::2/42709 auth[A] nx.example.test from fd53::2` (query[...] in local mode)
const DNSMASQ_QUERY_RE = /\b(?:query|auth)\[(\w+)\] (\S+) from (\S+)/;

export async function startDnsmasq(ns: Netns, o: DnsmasqOptions): Promise<UpstreamServer> {
  const port = o.port ?? 53;
  const zone = o.zone ?? 'example.test';
  const mode = o.mode ?? 'local';
  const dir = ns.makeTempDir('dnsmasq');
  const logFile = `${dir}/queries.log`;
  const ttl = (t?: number): string => (t === undefined ? '' : `,${t}`);
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null', // ignore any system configuration
    '--no-resolv', // never forward: unknown zones are REFUSED
    '--no-hosts',
    '--bind-interfaces', // bind exactly the listen addresses, not the wildcard
    '--user=root', // the default unprivileged user may not exist on test machines
    '--pid-file=',
    `--port=${port}`,
    ...o.listen.map((a) => `--listen-address=${a}`),
    '--log-queries=extra',
    `--log-facility=${logFile}`,
    `--local-ttl=${o.localTtl ?? 300}`,
    ...(mode === 'auth'
      ? [`--auth-zone=${zone}`, `--auth-server=ns.${zone},${o.listen.join(',')}`, `--auth-ttl=${o.authTtl ?? 300}`]
      : [`--local=/${zone}/`]),
    ...(o.records ?? []).flatMap((r) => recordArgs(r, ttl)),
    ...(o.extraArgs ?? []),
  ];
  const proc = spawnManaged(ns, 'dnsmasq', args, { label: `dnsmasq@${ns.name}` });
  try {
    await waitUntilAnswering(ns, proc, o.listen, port);
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return upstreamHandle(proc, logFile, (line) => {
    const m = DNSMASQ_QUERY_RE.exec(line);
    return m ? { type: m[1] ?? '', name: m[2] ?? '', client: m[3] ?? '' } : undefined;
  }, dir);
}
