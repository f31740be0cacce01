// The query pipeline of one instance, built from a Config: cache, upstream health, pool and
// resolver. A reload builds a new one and the listeners switch to it; the cache and the health
// state can be carried over when what they depend on did not change (see reload-plan.ts).

import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { SocketFactory } from '../net/socket-factory.js';
import type { Clock } from '../clock.js';
import type { Stats } from '../stats.js';
import { DnsCache } from '../cache/cache.js';
import { Resolver } from '../resolver.js';
import { UpstreamPool } from '../upstream/pool.js';
import { UpstreamHealth } from '../upstream/health.js';
import { toUpstreamServer } from '../upstream/server.js';
import { createUdpExchange } from '../upstream/udp.js';
import { createTcpExchange } from '../upstream/tcp.js';
import { createTlsExchange } from '../upstream/tls.js';

export interface Pipeline {
  readonly cache: DnsCache | null;
  readonly health: UpstreamHealth;
  readonly resolver: Resolver;
}

export interface PipelineDeps {
  /** Sockets for upstream exchanges: bound to `config.upstream.device`. */
  readonly upstreamFactory: SocketFactory;
  readonly clock: Clock;
  readonly log: Logger;
  /** Shared by every pipeline of the instance, so counters survive a reload. */
  readonly stats: Stats;
}

/** What a reload carries over from the previous pipeline. */
export interface Carried {
  readonly cache?: DnsCache | null;
  readonly health?: UpstreamHealth;
}

export function buildPipeline(config: Config, deps: PipelineDeps, carried: Carried = {}): Pipeline {
  const { clock, log, stats, upstreamFactory } = deps;
  const cache = carried.cache !== undefined ? carried.cache
    : config.cache.enabled
      ? new DnsCache({ maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxMiB * 1024 * 1024, staleSec: config.cache.staleSec, clock })
      : null;
  const health = carried.health ?? new UpstreamHealth(config.upstream.servers.map(toUpstreamServer), clock);
  const pool = new UpstreamPool(
    {
      attemptTimeoutMs: config.upstream.attemptTimeoutMs,
      queryTimeoutMs: config.upstream.queryTimeoutMs,
      ednsUdpSize: config.upstream.ednsUdpSize,
      ttl: config.cache,
      dnsOverTls: config.upstream.tls.mode,
      ...(config.upstream.serverSelection !== undefined && { serverSelection: config.upstream.serverSelection }),
      ...(config.upstream.randomizeCase === true && { randomizeCase: true }),
    },
    {
      health,
      udp: createUdpExchange(upstreamFactory, stats),
      tcp: createTcpExchange(upstreamFactory),
      ...(config.upstream.tls.mode !== 'no' && { tls: createTlsExchange(upstreamFactory, { ...config.upstream.tls, mode: config.upstream.tls.mode }) }),
      clock,
      log,
      stats,
    },
  );
  const resolver = new Resolver(
    {
      maxUdpSize: config.server.maxUdpSize, maxInflight: config.upstream.maxInflight, failureTtlSec: config.cache.failureTtlSec,
      staleClientTimeoutMs: config.cache.staleClientTimeoutMs, prefetch: config.cache.prefetch ?? true,
    },
    { cache, upstream: pool, clock, log, stats },
  );
  return { cache, health, resolver };
}
