// Forward= lines (split DNS), resolved for load.ts: each line is one route, DOMAIN then its
// servers in DNS='s syntax. The list layer keeps each item's path (file:line, or the flag and
// its number), so the items of one line are found again by their path. Problems go through
// load.ts's report(), with the others, in one ConfigError.

import { isHostName, parseServer } from './endpoint.js';
import type { Layered } from './ini.js';
import type { ForwardRoute, UpstreamEndpoint } from './types.js';

type Report = (path: string, message: string) => void;

export function resolveRoutes(layered: Layered, port: number, report: Report): ForwardRoute[] {
  const lines = new Map<string, string[]>();
  for (const item of layered.lists.get('Forward')?.items ?? []) {
    const line = lines.get(item.path);
    if (line) line.push(item.value);
    else lines.set(item.path, [item.value]);
  }
  const routes: ForwardRoute[] = [];
  const seen = new Map<string, string>();
  for (const [path, [rawDomain, ...rawServers]] of lines) {
    const domain = rawDomain!.replace(/\.$/, '').toLowerCase();
    if (!isHostName(domain)) {
      report(path, `"${rawDomain}" is not a domain: Forward=DOMAIN SERVER... (e.g. Forward=corp.example 10.1.1.53)`);
      continue;
    }
    if (rawServers.length === 0) {
      report(path, `Forward=${rawDomain} names no server: Forward=DOMAIN SERVER... (e.g. Forward=${domain} 10.1.1.53)`);
      continue;
    }
    if (seen.has(domain)) {
      report(path, `${domain} is forwarded twice (also at ${seen.get(domain)}): one Forward= line per domain`);
      continue;
    }
    seen.set(domain, path);
    const servers: UpstreamEndpoint[] = [];
    for (const raw of rawServers) {
      const p = parseServer(raw, port);
      if (p.ok) servers.push(p.value);
      else report(path, p.message);
    }
    if (servers.length === rawServers.length) routes.push({ domain, servers });
  }
  // Longest domain first: the first route that contains a name is the most specific one.
  return routes.sort((a, b) => b.domain.length - a.domain.length);
}
