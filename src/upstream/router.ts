// Split DNS (Forward=): a question goes to the pool of the longest domain that contains its
// name, else to the default pool (DNS=). A name maps to one route, so two routes can answer
// the same name differently without their answers meeting in the cache; when the routes
// change, a reload rebuilds the pipeline and flushes the cache (app/reload-plan.ts).

import { isSubdomain, textToKey } from '../dns/name.js';
import type { Query } from '../dns/query.js';
import type { ResolveSink, Upstream } from '../resolver.js';

export interface Route {
  readonly domain: string;
  readonly upstream: Upstream;
}

export class UpstreamRouter implements Upstream {
  /** Longest domain first, each with its lowercase wire key. */
  private readonly routes: readonly { readonly key: string; readonly upstream: Upstream }[];

  constructor(
    private readonly fallback: Upstream,
    routes: readonly Route[],
  ) {
    this.routes = [...routes]
      .sort((a, b) => b.domain.length - a.domain.length)
      // Domains were checked by the config (host names), so they always make a key.
      .map((r) => ({ key: textToKey(r.domain)!, upstream: r.upstream }));
  }

  resolve(q: Query, sink: ResolveSink): void {
    this.upstreamFor(q.nameKey).resolve(q, sink);
  }

  /** The upstream for a lowercase wire name key (query.ts nameKey). */
  upstreamFor(nameKey: string): Upstream {
    for (const r of this.routes) if (isSubdomain(nameKey, r.key)) return r.upstream;
    return this.fallback;
  }
}
