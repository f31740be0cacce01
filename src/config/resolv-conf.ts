// The nameserver lines of a resolv.conf(5)-style file (ResolvConf=), e.g. one a DHCP client
// writes for the VRF. Only "nameserver ADDR" matters: search, domain, options and sortlist
// are for stub resolvers, and '#' or ';' start comments. Servers use port 53, as in libc.

import { readFileSync } from 'node:fs';
import type { ConfigProblem } from '../errors.js';
import type { Endpoint } from './types.js';
import { parseEndpoint } from './endpoint.js';

export interface Nameserver {
  readonly endpoint: Endpoint;
  /** "/etc/resolv.conf:3 nameserver", for problems about this server (e.g. a loop). */
  readonly path: string;
}

export interface ResolvConfResult {
  readonly servers: readonly Nameserver[];
  readonly problems: readonly ConfigProblem[];
}

const DNS_PORT = 53;

export function parseResolvConf(text: string, file: string): ResolvConfResult {
  const servers: Nameserver[] = [];
  const problems: ConfigProblem[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, address, ...extra] = line.split(/\s+/);
    if (keyword !== 'nameserver') return;
    const path = `${file}:${index + 1} nameserver`;
    if (address === undefined) {
      problems.push({ path, message: 'nameserver line without an address' });
      return;
    }
    if (extra.length > 0) {
      problems.push({ path, message: `one address per nameserver line, got "${line}"` });
      return;
    }
    if (address.startsWith('[')) {
      // libc takes a bare address only; a port here would silently be misread by other tools.
      problems.push({ path, message: `"${address}": resolv.conf takes a bare address (port 53), not [ADDR]:PORT` });
      return;
    }
    const parsed = parseEndpoint(address, DNS_PORT);
    if (!parsed.ok) {
      problems.push({ path, message: parsed.message });
      return;
    }
    // A bare IPv4 "a.b.c.d:port" would parse as an endpoint; libc does not accept it.
    if (parsed.value.family === 4 && address.includes(':')) {
      problems.push({ path, message: `"${address}": resolv.conf takes a bare address (port 53), not ADDR:PORT` });
      return;
    }
    servers.push({ endpoint: parsed.value, path });
  });
  if (servers.length === 0 && problems.length === 0) {
    problems.push({ path: file, message: 'no nameserver lines; expected lines such as "nameserver 192.0.2.53"' });
  }
  return { servers, problems };
}

/**
 * Reads and parses `file`. `refPath` is where the file was named (the ResolvConf= line or
 * --resolv-conf), so an unreadable file is reported there, with the path that failed.
 */
export function readResolvConf(file: string, refPath: string): ResolvConfResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { servers: [], problems: [{ path: refPath, message: describeReadError(file, err) }] };
  }
  return parseResolvConf(text, file);
}

/** "cannot read /etc/x.conf: no such file" — shared with load.ts for the config files. */
export function describeReadError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why =
    code === 'ENOENT' ? 'no such file' :
    code === 'EACCES' || code === 'EPERM' ? 'permission denied' :
    code === 'EISDIR' ? 'is a directory, expected a file' :
    code === 'ENOTDIR' ? 'not a directory' :
    err instanceof Error ? err.message : String(err);
  return `cannot read ${file}: ${why}`;
}
