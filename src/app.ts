// Composition root: builds everything one instance needs for one VRF from a validated Config,
// and owns start/close. The socket factories and the clock are passed in, so tests can run the
// whole instance on plain loopback sockets and the binary on VRF-bound ones.

import type { Logger } from 'pino';
import { ListenError } from './errors.js';
import type { Config, Endpoint } from './config/types.js';
import type { SocketFactory } from './net/socket-factory.js';
import { systemClock, type Clock } from './clock.js';
import { DnsCache } from './cache/cache.js';
import { Resolver } from './resolver.js';
import { UpstreamPool } from './upstream/pool.js';
import { UpstreamHealth } from './upstream/health.js';
import { toUpstreamServer } from './upstream/server.js';
import { createUdpExchange } from './upstream/udp.js';
import { createTcpExchange } from './upstream/tcp.js';
import { serveUdp, type Listener, type QueryHandler } from './server/udp.js';
import { serveTcp } from './server/tcp.js';
import { newStats, type Stats } from './stats.js';

export interface AppDeps {
  readonly config: Config;
  /** Sockets for the listeners: bound to `config.vrf`. */
  readonly listenFactory: SocketFactory;
  /** Sockets for upstream exchanges: bound to `config.upstream.device`. */
  readonly upstreamFactory: SocketFactory;
  readonly log: Logger;
  readonly clock?: Clock;
}

/** Backlog of each TCP listener; small, the connection cap does the real limiting. */
const TCP_BACKLOG = 128;

export class App {
  readonly stats: Stats;
  readonly cache: DnsCache | null;
  readonly resolver: Resolver;
  readonly health: UpstreamHealth;
  private listeners: Listener[] = [];

  private constructor(private readonly deps: AppDeps) {
    const { config, log } = deps;
    const clock = deps.clock ?? systemClock;
    this.stats = newStats();
    this.cache = config.cache.enabled ? new DnsCache({ maxEntries: config.cache.maxEntries, clock }) : null;
    const servers = config.upstream.servers.map(toUpstreamServer);
    this.health = new UpstreamHealth(servers, clock);
    const pool = new UpstreamPool(
      {
        attemptTimeoutMs: config.upstream.attemptTimeoutMs,
        queryTimeoutMs: config.upstream.queryTimeoutMs,
        ednsUdpSize: config.upstream.ednsUdpSize,
        ttl: config.cache,
      },
      {
        health: this.health,
        udp: createUdpExchange(deps.upstreamFactory, this.stats),
        tcp: createTcpExchange(deps.upstreamFactory),
        clock,
        log,
        stats: this.stats,
      },
    );
    this.resolver = new Resolver(
      { maxUdpSize: config.server.maxUdpSize, maxInflight: config.upstream.maxInflight, failureTtlSec: config.cache.failureTtlSec },
      { cache: this.cache, upstream: pool, clock, log, stats: this.stats },
    );
  }

  /** Opens every listener (UDP and TCP on each listen address) or none: on failure all are closed. */
  static async start(deps: AppDeps): Promise<App> {
    const app = new App(deps);
    try {
      for (const ep of deps.config.server.listen) await app.listen(ep);
    } catch (e) {
      await app.close();
      throw e;
    }
    return app;
  }

  get listenerLabels(): string[] {
    return this.listeners.map((l) => l.label);
  }

  private async listen(ep: Endpoint): Promise<void> {
    const { listenFactory, config, log } = this.deps;
    const handler: QueryHandler = (msg, ctx) => this.resolver.handle(msg, ctx);
    const where = `${ep.family === 6 ? `[${ep.address}]` : ep.address}:${ep.port}${listenFactory.device ? ` on ${listenFactory.device}` : ''}`;
    try {
      const udp = await listenFactory.udpListener(ep);
      this.listeners.push(serveUdp(udp, `udp ${where}`, handler, log));
    } catch (e) {
      throw new ListenError(`udp ${where}`, e);
    }
    try {
      const tcp = await listenFactory.tcpListener(ep, TCP_BACKLOG);
      const s = config.server;
      const limits = { idleTimeoutMs: s.tcpIdleTimeoutMs, maxConnections: s.tcpMaxConnections, maxPipelined: s.tcpMaxPipelined };
      this.listeners.push(serveTcp(tcp, `tcp ${where}`, handler, limits, log));
    } catch (e) {
      throw new ListenError(`tcp ${where}`, e);
    }
  }

  async close(): Promise<void> {
    const all = this.listeners;
    this.listeners = [];
    await Promise.all(all.map((l) => l.close()));
  }
}
