// What a reload (SIGHUP) changes, decided from the old and the new Config alone, so the
// decisions are unit-testable and the log can say exactly what happened:
//   - the VRF and the upstream device cannot change: the sockets and factories are made for
//     them; such a config is refused as a whole, and the old one keeps serving;
//   - listeners: the ones whose endpoint stayed are kept (no gap, no lost TCP connection), new
//     ones are opened before removed ones are closed;
//   - the pipeline (pool, resolver) is rebuilt when an upstream, cache or reply setting changed;
//   - the cache is kept unless the upstream servers or the Forward= routes changed (their
//     answers may differ: flush),
//     the cache was switched off or on, or its capacity changed (its slot arrays are sized once);
//   - the upstream health state is kept when the server list is the same.

import type { Config, Endpoint } from '../config/types.js';
import { formatEndpoint, sameEndpoint } from '../config/endpoint.js';

export interface ReloadPlan {
  /** Dotted paths of the settings that differ ("upstream.servers", "cache.maxEntries"). */
  readonly changed: readonly string[];
  /** Why the new config cannot be applied without a restart; empty when it can. */
  readonly refused: readonly string[];
  readonly listen: { readonly added: readonly Endpoint[]; readonly removed: readonly Endpoint[]; readonly kept: readonly Endpoint[] };
  readonly rebuildPipeline: boolean;
  /** 'kept', or why the cache is flushed. */
  readonly cache: 'kept' | 'off' | `flushed: ${string}`;
  readonly keepHealth: boolean;
}

export function planReload(old: Config, next: Config): ReloadPlan {
  const changed = diffPaths(old, next);
  const refused: string[] = [];
  if (old.vrf !== next.vrf) {
    refused.push(`VRF changed from ${old.vrf ?? 'default'} to ${next.vrf ?? 'default'}: restart the instance to move it`);
  }
  if (old.upstream.device !== next.upstream.device) {
    refused.push(`UpstreamDevice changed from ${old.upstream.device ?? 'default'} to ${next.upstream.device ?? 'default'}: restart to apply`);
  }
  const has = (list: readonly Endpoint[], ep: Endpoint): boolean => list.some((o) => sameEndpoint(o, ep));
  const listen = {
    added: next.server.listen.filter((ep) => !has(old.server.listen, ep)),
    removed: old.server.listen.filter((ep) => !has(next.server.listen, ep)),
    kept: next.server.listen.filter((ep) => has(old.server.listen, ep)),
  };
  const rebuildPipeline = changed.some((p) => p.startsWith('upstream.') || p.startsWith('cache.') || p === 'server.maxUdpSize');
  const sameServers = sameSet(old.upstream.servers, next.upstream.servers);
  // A name may move to another route, whose servers answer it differently: the cache goes.
  const routesChanged = changed.some((p) => p.startsWith('upstream.routes'));
  let cache: ReloadPlan['cache'] = 'kept';
  if (!next.cache.enabled) cache = 'off';
  else if (!old.cache.enabled) cache = 'flushed: the cache was off';
  else if (old.cache.maxEntries !== next.cache.maxEntries) cache = 'flushed: CacheMaxEntries changed';
  else if (old.cache.maxMiB !== next.cache.maxMiB) cache = 'flushed: CacheMaxMiB changed';
  else if (old.cache.staleSec !== next.cache.staleSec) cache = 'flushed: ServeStaleSec changed';
  else if (!sameServers) cache = 'flushed: the upstream servers changed';
  else if (routesChanged) cache = 'flushed: the Forward= routes changed';
  // The health covers the routes' servers too (pipeline.ts), so it is kept only when they stay.
  const keepHealth = sameServers && !routesChanged && old.upstream.servers.every((s, i) => {
    const n = next.upstream.servers[i]!;
    return sameEndpoint(s, n) && s.tlsName === n.tlsName && s.device === n.device;
  });
  return { changed, refused, listen, rebuildPipeline, cache, keepHealth };
}

function sameSet(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => sameEndpoint(x, y)));
}

/** Leaf paths whose values differ; arrays compare as a whole ("server.listen"). */
export function diffPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    // Where things came from is not a setting: a drop-in moving a key changes nothing.
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== 'sources' && k !== 'configFiles');
    return keys.flatMap((k) => diffPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** For logs: ["udp+tcp 127.0.0.1:5300"]. */
export function endpointLabels(eps: readonly Endpoint[]): string[] {
  return eps.map((ep) => `udp+tcp ${formatEndpoint(ep)}`);
}
