// `vrf-resolver run`: the resolver for one VRF. Runs in the foreground, never daemonizes
// (systemd or the operator's shell owns the process), stops cleanly on SIGTERM and SIGINT,
// re-reads its configuration on SIGHUP. Under systemd (Type=notify) it reports
// READY/RELOADING/STOPPING, pings the watchdog, and serves the sockets of
// vrf-resolver@NAME.socket when it is started by it; see src/systemd/ and
// systemd/vrf-resolver@.service.

import type { Logger } from 'pino';
import { loadConfig, type LoadOptions } from '../../config/load.js';
import { formatEndpoint } from '../../config/endpoint.js';
import type { Config } from '../../config/types.js';
import { ConfigError, NativeMissingError } from '../../errors.js';
import { createLogger, detectLogFormat } from '../../log.js';
import { App } from '../../app.js';
import { tuneHeap } from '../../heap.js';
import { nativeAvailable } from '../../native/binding.js';
import type { SocketFactory } from '../../net/socket-factory.js';
import { deviceFactories, socketFactory } from '../../app/factories.js';
import { WorkerGroup } from '../../app/workers.js';
import { loadOptionsFor } from '../../systemd/instance.js';
import { Notifier } from '../../systemd/notify.js';
import { adoptListenFds, takeListenFds, type ActivatedSocket } from '../../systemd/listen-fds.js';
import { statusLine } from '../../systemd/status.js';
import { notAVrfWarning } from '../../systemd/device-kind.js';
import { DeviceFollower } from '../../app/follow.js';
import { followUpstreamFile } from '../../app/upstream-file.js';
import { OPTIONS } from '../../config/schema.js';
import { counters } from '../../stats.js';
import { startControlPlane, type ControlPlane } from '../../control/plane.js';
import { packageVersion } from '../../version.js';
import { EXIT, type CommandSpec } from '../command.js';
import { RUN_FLAGS, cliFlags, configFile } from '../run-flags.js';
import { finishLog, loadOrReport, writeError } from '../startup.js';

const EX_CONFIG = EXIT.CONFIG;
/** How often STATUS= is refreshed under systemd (cache size and query count move). */
const STATUS_INTERVAL_MS = 30_000;

export const runSpec: CommandSpec = {
  name: 'run',
  summary: 'run the resolver for one VRF, in the foreground',
  usage: ['vrf-resolver run [--config FILE] [FLAGS]', 'vrf-resolver run --instance NAME [FLAGS]'],
  description: [
    'Runs the resolver for one VRF in the foreground; systemd runs it as vrf-resolver@NAME. ' +
      'Flags override the config file; a flag for a list (--listen, --upstream) replaces the list from the file.',
  ],
  flags: RUN_FLAGS,
  operands: [],
  instance: 'flag',
  strayHint: 'a config file is given with --config FILE',
  seeAlso: [
    'Cache sizes, TTL limits, timeouts and TCP limits are set in the config file only; ' +
      '"vrf-resolver help config" lists every key with its default.',
  ],
  run: (p, env) => run(loadOptionsFor({ instance: p.instance, configFile: configFile(p), flags: cliFlags(p) }, env.configDir).load),
};

async function run(load: LoadOptions): Promise<number> {
  tuneHeap(); // before the cache fills: src/heap.ts says why
  const config = loadOrReport(load);
  if (config === null) return EX_CONFIG;
  const log = createLogger(config.logLevel, config.vrf, undefined, config.logFormat ?? detectLogFormat());
  const notifier = new Notifier({ log });

  // SIGHUP's default action kills the process: take it over before anything can send it.
  let reloads = Promise.resolve();
  let started: { app: App; plane: ControlPlane } | null = null;
  const onHup = (): void => {
    reloads = reloads.then(() => (started ? reload(started.app, started.plane, load, log, notifier) : undefined));
  };
  process.on('SIGHUP', onHup);
  // SIGTERM and SIGINT too, before anything starts: a stop that comes while the control plane
  // or the watchers are still starting must stop gracefully, not by the signal's default action.
  // Also a stop from inside: a socket-activated instance whose device went (app/follow.ts).
  let stopFromInside: (reason: string) => void = () => undefined;
  const stopSignal = new Promise<{ signal?: NodeJS.Signals; reason?: string }>((resolve) => {
    process.once('SIGTERM', () => resolve({ signal: 'SIGTERM' }));
    process.once('SIGINT', () => resolve({ signal: 'SIGINT' }));
    stopFromInside = (reason) => resolve({ reason });
  });
  let stopRequested = false;
  void stopSignal.then(() => (stopRequested = true));

  const startedAtMs = Date.now();
  const workers = config.server.workers ?? 1;
  let app: App;
  let listenFactory: SocketFactory;
  let follower: DeviceFollower | null = null;
  try {
    // The device first: adopted UDP sockets start reading at once, and a datagram read before
    // App.start attaches the handler (the one that woke a socket-activated service) would be lost.
    follower = await followDevices(config, log, stopSignal);
    if (stopRequested) {
      follower?.close();
      log.info('stopped before the device appeared');
      await finishLog(log);
      return 0;
    }
    const activated = await adoptPassedSockets(config);
    listenFactory = socketFactory(config.vrf, log);
    app = await App.start({
      config,
      // With Workers= every worker binds the same addresses (SO_REUSEPORT); the metrics
      // listener keeps a socket of its own (listenFactory).
      listenFactory: workers > 1 ? socketFactory(config.vrf, log, { reusePort: true }) : listenFactory,
      upstreamFactory: socketFactory(config.upstream.device, log),
      ...(nativeAvailable() && { factoryFor: deviceFactories() }),
      log,
      activated,
      waitForAddresses: follower !== null,
    });
    if (workers > 1) {
      const started = app;
      try {
        started.attachWorkers(await WorkerGroup.start({
          count: workers, log, logFormat: config.logFormat ?? detectLogFormat(), config: () => started.currentConfig,
          deviceGone: () => !started.device.present, waitForAddresses: follower !== null, activated,
        }));
      } catch (e) {
        await started.close();
        throw e;
      }
    }
  } catch (e) {
    follower?.close();
    const err = e as Error & { code?: string };
    log.fatal({ code: err.code, err: err.message }, 'cannot start');
    notifier.status(`cannot start: ${err.message}`);
    writeError(config.logFormat ?? detectLogFormat(), err.message);
    await finishLog(log);
    return 1;
  }
  log.info(
    {
      listeners: app.listenerLabels,
      upstreams: config.upstream.servers.map(formatEndpoint),
      upstreamDevice: config.upstream.device,
      sources: config.sources,
      cacheMaxEntries: config.cache.enabled ? config.cache.maxEntries : 0,
      ...(workers > 1 && { workers }),
      ...(app.socketActivated && { socketActivated: true }),
      ...(notifier.enabled && { notify: true, watchdogMs: notifier.watchdogIntervalMs }),
    },
    'ready',
  );
  notifier.ready(statusLine(app));
  if (config.vrf !== null) void notAVrfWarning(config.vrf).then((w) => w !== null && log.warn({ device: config.vrf }, w));
  const stopWatchdog = notifier.startWatchdog();
  const statusTimer = notifier.enabled ? setInterval(() => notifier.status(statusLine(app)), STATUS_INTERVAL_MS).unref() : undefined;
  // The control socket and the metrics listener: after `ready` (DNS never waits for them, and
  // neither failing stops it), closed first when stopping.
  const plane = await startControlPlane({ app, log, version: packageVersion(), startedAtMs, listenFactory });
  started = { app, plane };
  follower?.attach(app, {
    onRebound: () => plane.rebindMetrics(),
    onChange: () => notifier.status(statusLine(app)),
    onSocketsLost: (why) => stopFromInside(why),
  });
  const upstreamFile = followUpstreamFile({ app, plane, notifier, load, log, serialize: (job) => void (reloads = reloads.then(job)) });

  const stop = await stopSignal;
  notifier.stopping();
  stopWatchdog();
  clearInterval(statusTimer);
  upstreamFile.close();
  log.info(stop, 'stopping');
  await reloads; // a reload in progress finishes first
  process.off('SIGHUP', onHup);
  follower?.close();
  // The instance's totals: with Workers= every worker's, asked before they stop.
  const final = app.workers === null ? null : await plane.api.statistics().catch(() => null);
  await plane.close();
  await app.close();
  log.info({ stats: final?.counters ?? counters(app.stats), cacheEntries: final?.cache.entries ?? app.cache?.size ?? 0 }, 'stopped');
  await finishLog(log);
  return 0;
}

/** SIGHUP: the same file and flags as at start, read again; a bad config changes nothing. */
async function reload(app: App, plane: ControlPlane, load: LoadOptions, log: Logger, notifier: Notifier): Promise<void> {
  notifier.reloading();
  log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
  try {
    let next: Config;
    try {
      next = loadConfig(load);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      log.error(
        { code: e.code, problems: e.problems.map((p) => `${p.path}: ${p.message}`) },
        'reload refused: invalid configuration; the old configuration keeps serving',
      );
      return;
    }
    if ((next.logFormat ?? null) !== (app.currentConfig.logFormat ?? null)) {
      log.warn({ logFormat: next.logFormat ?? 'auto' }, 'LogFormat= changes apply at the next restart');
    }
    if ((next.server.workers ?? 1) !== (app.currentConfig.server.workers ?? 1)) {
      log.warn({ workers: next.server.workers ?? 1, running: app.workers?.size ?? 1 }, 'Workers= changes apply at the next restart');
    }
    if ((await app.reload(next)).applied) await plane.apply(next);
  } catch (e) {
    log.error({ err: (e as Error).message }, 'reload failed; the old configuration keeps serving');
  } finally {
    notifier.ready(statusLine(app));
  }
}

/**
 * WaitForDeviceSec=: the upstream device and the VRF device must exist before anything binds;
 * then the VRF device is followed (app/follow.ts). Null when there is nothing to follow (the
 * default VRF), netlink is not available, or the device did not appear in time: then App.start
 * meets a missing device with ENODEV and its fix, as without following.
 */
async function followDevices(config: Config, log: Logger, stop: Promise<unknown>): Promise<DeviceFollower | null> {
  if (!nativeAvailable()) return null;
  const waitMs = (config.waitForDeviceSec ?? OPTIONS.WaitForDeviceSec.default) * 1000;
  const upstream = config.upstream.device;
  if (upstream !== null && upstream !== config.vrf) {
    const u = await DeviceFollower.open(upstream, log);
    if (u !== null) {
      await u.waitForDevice(waitMs, stop);
      u.close();
    }
  }
  if (config.vrf === null) return null;
  const f = await DeviceFollower.open(config.vrf, log);
  if (f === null) return null;
  if (await f.waitForDevice(waitMs, stop)) return f;
  f.close();
  if (waitMs > 0) log.error({ device: config.vrf, waitForDeviceSec: waitMs / 1000 }, `${config.vrf} did not appear within WaitForDeviceSec`);
  return null;
}

/** Sockets from vrf-resolver@NAME.socket (LISTEN_FDS), checked against the VRF; [] when none. */
async function adoptPassedSockets(config: Config): Promise<ActivatedSocket[]> {
  const fds = takeListenFds();
  if (fds.length === 0) return [];
  if (!nativeAvailable()) throw new NativeMissingError('build/native/Release/vrf_socket.node');
  return adoptListenFds(fds, { device: config.vrf });
}
