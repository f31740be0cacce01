// Composition root: builds everything one instance needs for one VRF from a validated Config,
// and owns start, reload and close. The socket factories and the clock are passed in, so tests
// can run the whole instance on plain loopback sockets and the binary on VRF-bound ones.
//
// The listeners call a handler that reads the current pipeline at each query, so a reload
// swaps the pipeline (pool, resolver, maybe the cache) without touching a socket; listeners
// change only where Listen= changed (app/reload-plan.ts has the rules).

import type { Logger } from 'pino';
import type { Config, Endpoint } from './config/types.js';
import type { SocketFactory } from './net/socket-factory.js';
import { systemClock, type Clock } from './clock.js';
import type { DnsCache } from './cache/cache.js';
import type { Resolver } from './resolver.js';
import type { UpstreamHealth } from './upstream/health.js';
import type { QueryHandler } from './server/udp.js';
import type { TcpLimits } from './server/tcp.js';
import { newStats, type Stats } from './stats.js';
import { buildPipeline, type Pipeline, type PipelineDeps } from './app/pipeline.js';
import { ListenerSet } from './app/listeners.js';
import { endpointLabels, planReload, type ReloadPlan } from './app/reload-plan.js';
import type { ActivatedSocket } from './systemd/listen-fds.js';
import type { WorkerGroup } from './app/workers.js';
import { isLoopback } from './config/endpoint.js';
import { AddressMatcher } from './config/cidr.js';

interface Access {
  readonly matcher: AddressMatcher;
  /** Every loopback address is allowed: loopback listeners skip the check. */
  readonly loopbackTrusted: boolean;
}

function accessFor(config: Config): Access {
  const matcher = new AddressMatcher(config.access.allowFrom);
  return { matcher, loopbackTrusted: matcher.allowsAllLoopback };
}

export interface AppDeps {
  readonly config: Config;
  /** Sockets for the listeners: bound to `config.vrf`. */
  readonly listenFactory: SocketFactory;
  /** Sockets for upstream exchanges: bound to `config.upstream.device`. */
  readonly upstreamFactory: SocketFactory;
  /** Sockets bound to another device, for servers written ADDR%DEVICE; absent without the native helper. */
  readonly factoryFor?: (device: string) => SocketFactory;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Sockets passed by systemd (socket activation): served in place of config.server.listen. */
  readonly activated?: readonly ActivatedSocket[];
  /**
   * The instance follows its device (app/follow.ts): a listener whose address is not on the
   * device yet (EADDRNOTAVAIL) waits for it instead of failing the start.
   */
  readonly waitForAddresses?: boolean;
}

/** The VRF device as the instance knows it, for status and doctor. */
export interface DeviceInfo {
  readonly name: string | null;
  /** The ifindex the listeners are bound to; null in the default VRF, or while the device is gone. */
  readonly ifindex: number | null;
  /** False while the device is gone (it was deleted and is not back). */
  readonly present: boolean;
  /** Netlink tells the instance about the device (app/follow.ts); false: it knows only what it saw at start. */
  readonly following: boolean;
}

export interface ReloadResult {
  readonly applied: boolean;
  readonly plan: ReloadPlan;
  /** Why it was not applied. */
  readonly error?: string;
}

export class App {
  readonly stats: Stats = newStats();
  private config: Config;
  private pipeline: Pipeline;
  private access: Access;
  private readonly listeners: ListenerSet;
  private readonly pipelineDeps: PipelineDeps;
  /** Listener changes (reloads, device events) one at a time. */
  private serial: Promise<unknown> = Promise.resolve();
  private deviceInfo: DeviceInfo;
  /** Workers= above 1, in the main thread: the other workers, told what this App is told. */
  private group: WorkerGroup | null = null;

  private constructor(private readonly deps: AppDeps) {
    this.config = deps.config;
    this.pipelineDeps = {
      upstreamFactory: deps.upstreamFactory, clock: deps.clock ?? systemClock, log: deps.log, stats: this.stats,
      ...(deps.factoryFor !== undefined && { factoryFor: deps.factoryFor }),
    };
    this.pipeline = buildPipeline(this.config, this.pipelineDeps);
    this.access = accessFor(this.config);
    // serveTcp reads these at each connection and query: kept listeners follow a reload.
    const app = this;
    const limits: TcpLimits = {
      get idleTimeoutMs() { return app.config.server.tcpIdleTimeoutMs; },
      get maxConnections() { return app.config.server.tcpMaxConnections; },
      get maxConnectionsPerClient() { return app.config.server.tcpMaxConnectionsPerClient; },
      get maxPipelined() { return app.config.server.tcpMaxPipelined; },
    };
    this.listeners = new ListenerSet({ factory: deps.listenFactory, handlerFor: (ep) => this.handlerFor(ep), limits, log: deps.log });
    this.deviceInfo = { name: deps.config.vrf, ifindex: null, present: true, following: false };
  }

  /**
   * The query handler of a listener on `ep`. AllowFrom= is checked per query, except on a
   * loopback listener while every loopback address is allowed (the default): only this host can
   * reach a loopback address, so the hit path pays nothing for it. Both read the current
   * pipeline and access rules at each query, so a kept listener follows a reload.
   */
  private handlerFor(ep: Endpoint): QueryHandler {
    const guarded: QueryHandler = (msg, ctx) =>
      this.access.matcher.allows(ctx.address)
        ? this.pipeline.resolver.handle(msg, ctx)
        : this.pipeline.resolver.deny(msg, ctx, this.config.access.denyAction);
    if (!isLoopback(ep)) return guarded;
    return (msg, ctx) => (this.access.loopbackTrusted ? this.pipeline.resolver.handle(msg, ctx) : guarded(msg, ctx));
  }

  /**
   * Opens every listener (UDP and TCP on each listen address) or none: on failure all are
   * closed. With `activated` sockets, serves those instead and opens none.
   */
  static async start(deps: AppDeps): Promise<App> {
    const app = new App(deps);
    try {
      if (deps.activated !== undefined && deps.activated.length > 0) app.listeners.adopt(deps.activated);
      else if (deps.waitForAddresses === true) {
        const why: string[] = [];
        for (const ep of deps.config.server.listen) {
          const w = await app.listeners.openOrWait(ep);
          if (w !== null) why.push(w);
        }
        app.logWaiting(why);
      } else for (const ep of deps.config.server.listen) await app.listeners.open(ep);
    } catch (e) {
      await app.close();
      throw e;
    }
    return app;
  }

  /** The other worker threads (Workers=), started after this App; they follow its reloads and device events and close with it. */
  attachWorkers(group: WorkerGroup): void {
    this.group = group;
  }

  /** The other worker threads; null with Workers=1 and inside a worker. */
  get workers(): WorkerGroup | null {
    return this.group;
  }

  /** The clock the instance runs on (health and cache times are on it). */
  get clock(): Clock {
    return this.pipelineDeps.clock;
  }

  get currentConfig(): Config {
    return this.config;
  }

  get cache(): DnsCache | null {
    return this.pipeline.cache;
  }

  get resolver(): Resolver {
    return this.pipeline.resolver;
  }

  get health(): UpstreamHealth {
    return this.pipeline.health;
  }

  get listenerLabels(): string[] {
    return this.listeners.labels;
  }

  get socketActivated(): boolean {
    return this.listeners.socketActivated;
  }

  /** Listeners waiting for their address or device (only when following the device). */
  get pendingListenerLabels(): string[] {
    return this.listeners.pendingLabels;
  }

  get device(): DeviceInfo {
    return this.deviceInfo;
  }

  /** Runs fn after every listener change before it: reloads and device events never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  /** What app/follow.ts learnt about the device: kept for status. */
  setDevice(info: Omit<DeviceInfo, 'name'>): void {
    this.deviceInfo = { name: this.config.vrf, ...info };
  }

  /** The device is gone, or came back with another ifindex: every listener socket is dead. They wait to be opened again. */
  deviceLost(): Promise<void> {
    return this.exclusive(async () => {
      await this.listeners.closeAndWait();
      await this.group?.deviceLost();
    });
  }

  /** Opens the listeners that wait for an address or the device; returns the labels of those opened. */
  openWaiting(): Promise<string[]> {
    return this.exclusive(async () => {
      const opened = await this.listeners.openPending();
      await this.group?.openWaiting();
      return opened.length === 0 ? [] : this.listenerLabels;
    });
  }

  /** One warn line for the listeners that wait, with each bind error (it names the ip command that fixes it). */
  private logWaiting(why: readonly string[]): void {
    if (why.length === 0) return;
    const device = this.config.vrf ?? 'lo';
    this.deps.log.warn({ waiting: this.listeners.pendingLabels, errors: why, listeners: this.listenerLabels },
      `listen addresses not on ${device} yet: these listeners open as soon as the address is added (under systemd vrf-resolver-net@${device} adds the loopback ones)`);
  }

  /**
   * Applies a new configuration, or none of it: new listeners are opened first, and if one
   * fails (or the VRF changed) the old configuration keeps serving untouched. Logs the outcome.
   * Reloads queue behind each other and behind device events (exclusive); run.ts also chains SIGHUPs and ResolvConf= changes.
   */
  reload(next: Config): Promise<ReloadResult> {
    return this.exclusive(() => this.reloadNow(next));
  }

  private async reloadNow(next: Config): Promise<ReloadResult> {
    const { log } = this.deps;
    const plan = planReload(this.config, next);
    if (plan.refused.length > 0) return this.refuse(plan, plan.refused.join('; '));

    const listenChanged = plan.listen.added.length > 0 || plan.listen.removed.length > 0;
    const opened = [];
    if (!this.socketActivated) {
      try {
        for (const ep of plan.listen.added) {
          await this.listeners.open(ep);
          opened.push(ep);
        }
      } catch (e) {
        await this.listeners.closeEndpoints(opened);
        return this.refuse(plan, (e as Error).message);
      }
    }

    const old = this.pipeline;
    if (plan.rebuildPipeline) {
      this.pipeline = buildPipeline(next, this.pipelineDeps, {
        ...(plan.cache === 'kept' && { cache: old.cache }),
        ...(plan.keepHealth && { health: old.health }),
      });
      if (plan.cache !== 'kept') old.cache?.clear(); // queries still in flight store into it: harmless
    }
    this.config = next;
    this.access = accessFor(next);
    log.level = next.logLevel;
    if (!this.socketActivated) await this.listeners.closeEndpoints(plan.listen.removed);

    log.info(
      {
        changed: plan.changed,
        ...(listenChanged && this.socketActivated
          ? { listenIgnored: 'the listeners come from the systemd socket unit; Listen= changes apply there' }
          : { listenersAdded: endpointLabels(plan.listen.added), listenersRemoved: endpointLabels(plan.listen.removed) }),
        cache: plan.cache,
        cacheEntries: this.pipeline.cache?.size ?? 0,
        listeners: this.listenerLabels,
      },
      plan.changed.length === 0 ? 'configuration reloaded, nothing changed' : 'configuration reloaded',
    );
    await this.group?.reload(next);
    return { applied: true, plan };
  }

  private refuse(plan: ReloadPlan, error: string): ReloadResult {
    this.deps.log.error({ code: 'VR_ERR_CONFIG', err: error, changed: plan.changed }, 'reload refused; the old configuration keeps serving');
    return { applied: false, plan, error };
  }

  async close(): Promise<void> {
    await this.group?.close();
    await this.listeners.close();
  }
}
