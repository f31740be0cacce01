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
import { UpstreamRouter } from '../upstream/router.js';
import type { UpstreamServer } from '../upstream/server.js';
import type { UdpExchange } from '../upstream/udp.js';
import type { TcpExchange } from '../upstream/tcp.js';
import type { UpstreamEndpoint } from '../config/types.js';

export interface Pipeline {
  readonly cache: DnsCache | null;
  readonly health: UpstreamHealth;
  readonly resolver: Resolver;
}

export interface PipelineDeps {
  /** Sockets for upstream exchanges: bound to `config.upstream.device`. */
  readonly upstreamFactory: SocketFactory;
  /**
   * Sockets bound to another device, for servers written ADDR%DEVICE (Forward=, DNS=). Absent:
   * such servers are refused at build time (the plain factory cannot bind to a device).
   */
  readonly factoryFor?: (device: string) => SocketFactory;
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
  const up = config.upstream;
  // Every server once (a server in several routes shares its health), by its label; those of a
  // carried health are its own objects (it keys its state by them; reload-plan.ts keeps it
  // only when the servers and routes are the same).
  const byLabel = new Map<string, UpstreamServer>((carried.health?.all ?? []).map((s) => [s.label, s]));
  const serversOf = (list: readonly UpstreamEndpoint[]) => list.map((e) => {
    const s = toUpstreamServer(e);
    if (!byLabel.has(s.label)) byLabel.set(s.label, s);
    return byLabel.get(s.label)!;
  });
  const defaults = serversOf(up.servers);
  const routes = (up.routes ?? []).map((r) => ({ domain: r.domain, servers: serversOf(r.servers) }));
  const health = carried.health ?? new UpstreamHealth([...byLabel.values()], clock);

  // The exchanges of each device: UpstreamDevice='s for servers without %DEVICE.
  const exchanges = new Map<string | null, { udp: UdpExchange; tcp: TcpExchange; tls?: TcpExchange }>();
  const exchangesFor = (device: string | undefined) => {
    const key = device ?? null;
    let ex = exchanges.get(key);
    if (ex === undefined) {
      if (device !== undefined && deps.factoryFor === undefined) {
        throw new Error(`upstream server on device ${device} (ADDR%DEVICE): needs the native socket helper (npm run build:native)`);
      }
      const factory = device === undefined ? upstreamFactory : deps.factoryFor!(device);
      ex = {
        udp: createUdpExchange(factory, stats, clock),
        tcp: createTcpExchange(factory),
        ...(up.tls.mode !== 'no' && { tls: createTlsExchange(factory, { ...up.tls, mode: up.tls.mode }) }),
      };
      exchanges.set(key, ex);
    }
    return ex;
  };
  for (const s of byLabel.values()) exchangesFor(s.endpoint.device); // fail at build time, not at the first query
  // Parameters spelled out, not `...rest`: the UDP exchange is called once per miss, and a rest
  // parameter is an array made at each call.
  const udp: UdpExchange = (s, query, questionEnd, timeoutMs, sink, exactCase) =>
    exchangesFor(s.endpoint.device).udp(s, query, questionEnd, timeoutMs, sink, exactCase);
  const tcp: TcpExchange = (s, ...rest) => exchangesFor(s.endpoint.device).tcp(s, ...rest);
  const tls: TcpExchange = (s, ...rest) => exchangesFor(s.endpoint.device).tls!(s, ...rest);

  const poolFor = (servers: readonly UpstreamServer[]) => new UpstreamPool(
    {
      attemptTimeoutMs: up.attemptTimeoutMs,
      queryTimeoutMs: up.queryTimeoutMs,
      ednsUdpSize: up.ednsUdpSize,
      ttl: config.cache,
      dnsOverTls: up.tls.mode,
      ...(up.serverSelection !== undefined && { serverSelection: up.serverSelection }),
      ...(up.randomizeCase === true && { randomizeCase: true }),
      servers,
    },
    { health, udp, tcp, ...(up.tls.mode !== 'no' && { tls }), clock, log, stats },
  );
  const pool = routes.length === 0 ? poolFor(defaults)
    : new UpstreamRouter(poolFor(defaults), routes.map((r) => ({ domain: r.domain, upstream: poolFor(r.servers) })));
  const resolver = new Resolver(
    {
      maxUdpSize: config.server.maxUdpSize, maxInflight: config.upstream.maxInflight, failureTtlSec: config.cache.failureTtlSec,
      staleClientTimeoutMs: config.cache.staleClientTimeoutMs, prefetch: config.cache.prefetch ?? true,
    },
    { cache, upstream: pool, clock, log, stats },
  );
  return { cache, health, resolver };
}
