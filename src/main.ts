#!/usr/bin/env node
// The `vrf-resolver` command. Runs in the foreground, never daemonizes (systemd or the
// operator's shell owns the process), stops cleanly on SIGTERM and SIGINT, re-reads its
// configuration on SIGHUP. Under systemd (Type=notify) it reports READY/RELOADING/STOPPING,
// pings the watchdog, and serves the sockets of vrf-resolver@NAME.socket when it is started
// by it; see src/systemd/ and systemd/vrf-resolver@.service.
// Exit codes: 0 fine, 1 runtime failure (a listener could not open...), 2 usage error,
// 78 invalid configuration (EX_CONFIG from sysexits.h; the unit does not restart on it).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseArgs } from './cli/args.js';
import { helpText } from './cli/help.js';
import { checkConfig, summarize } from './cli/check-config.js';
import { loadConfig, type LoadOptions } from './config/load.js';
import { formatEndpoint } from './config/endpoint.js';
import type { Config, LogFormat } from './config/types.js';
import { ConfigError, NativeMissingError } from './errors.js';
import { closeLogger, createLogger, detectLogFormat, journalPrefix } from './log.js';
import { App } from './app.js';
import { tuneHeap } from './heap.js';
import { nativeAvailable, packageRoot } from './native/binding.js';
import { createNativeSocketFactory } from './net/native-factory.js';
import { createPlainSocketFactory } from './net/plain-factory.js';
import type { SocketFactory } from './net/socket-factory.js';
import { parseSystemdCommand } from './systemd/instance.js';
import { Notifier } from './systemd/notify.js';
import { adoptListenFds, takeListenFds, type ActivatedSocket } from './systemd/listen-fds.js';
import { ensureLoopback, neededLoopback } from './systemd/loopback.js';
import { statusLine } from './systemd/status.js';
import { counters } from './stats.js';

const EX_USAGE = 2;
const EX_CONFIG = 78;
/** How often STATUS= is refreshed under systemd (cache size and query count move). */
const STATUS_INTERVAL_MS = 30_000;

async function main(argv: readonly string[]): Promise<number> {
  const sd = parseSystemdCommand(argv);
  if (sd !== null) {
    switch (sd.kind) {
      case 'usage-error':
        process.stderr.write(`vrf-resolver: ${sd.message}\n`);
        return EX_USAGE;
      case 'check-config':
        return checkInstance(sd.load, sd.label);
      case 'ensure-loopback':
        return ensureLoopbackCommand(sd.load);
      case 'run':
        return run(sd.load);
    }
  }
  const cmd = parseArgs(argv);
  switch (cmd.kind) {
    case 'usage-error':
      process.stderr.write(`vrf-resolver: ${cmd.message}\n`);
      return EX_USAGE;
    case 'help':
      process.stdout.write(helpText(cmd.topic) ?? '');
      return 0;
    case 'version':
      process.stdout.write(`vrf-resolver ${version()}\n`);
      return 0;
    case 'check-config': {
      const r = checkConfig(cmd.configFile, cmd.flags);
      (r.ok ? process.stdout : process.stderr).write(r.text);
      return r.ok ? 0 : EX_CONFIG;
    }
    case 'run':
      return run({ ...(cmd.configFile !== undefined && { file: cmd.configFile }), dropInDir: 'auto', flags: cmd.flags });
  }
}

async function run(load: LoadOptions): Promise<number> {
  tuneHeap(); // before the cache fills: src/heap.ts says why
  const config = loadOrReport(load);
  if (config === null) return EX_CONFIG;
  const log = createLogger(config.logLevel, config.vrf, undefined, config.logFormat ?? detectLogFormat());
  const notifier = new Notifier({ log });

  // SIGHUP's default action kills the process: take it over before anything can send it.
  let reloads = Promise.resolve();
  let started: App | null = null;
  const onHup = (): void => {
    reloads = reloads.then(() => (started ? reload(started, load, log, notifier) : undefined));
  };
  process.on('SIGHUP', onHup);

  let app: App;
  try {
    const activated = await adoptPassedSockets(config);
    app = await App.start({
      config,
      listenFactory: socketFactory(config.vrf, log),
      upstreamFactory: socketFactory(config.upstream.device, log),
      log,
      activated,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    log.fatal({ code: err.code, err: err.message }, 'cannot start');
    notifier.status(`cannot start: ${err.message}`);
    writeError(config.logFormat ?? detectLogFormat(), err.message);
    await finishLog(log);
    return 1;
  }
  started = app;
  log.info(
    {
      listeners: app.listenerLabels,
      upstreams: config.upstream.servers.map(formatEndpoint),
      upstreamDevice: config.upstream.device,
      sources: config.sources,
      cacheMaxEntries: config.cache.enabled ? config.cache.maxEntries : 0,
      ...(app.socketActivated && { socketActivated: true }),
      ...(notifier.enabled && { notify: true, watchdogMs: notifier.watchdogIntervalMs }),
    },
    'ready',
  );
  notifier.ready(statusLine(app));
  const stopWatchdog = notifier.startWatchdog();
  const statusTimer = notifier.enabled ? setInterval(() => notifier.status(statusLine(app)), STATUS_INTERVAL_MS).unref() : undefined;

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  notifier.stopping();
  stopWatchdog();
  clearInterval(statusTimer);
  log.info({ signal }, 'stopping');
  await reloads; // a reload in progress finishes first
  process.off('SIGHUP', onHup);
  await app.close();
  log.info({ stats: counters(app.stats), cacheEntries: app.cache?.size ?? 0 }, 'stopped');
  await finishLog(log);
  return 0;
}

/** SIGHUP: the same file and flags as at start, read again; a bad config changes nothing. */
async function reload(app: App, load: LoadOptions, log: Logger, notifier: Notifier): Promise<void> {
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
    await app.reload(next);
  } catch (e) {
    log.error({ err: (e as Error).message }, 'reload failed; the old configuration keeps serving');
  } finally {
    notifier.ready(statusLine(app));
  }
}

/** Sockets from vrf-resolver@NAME.socket (LISTEN_FDS), checked against the VRF; [] when none. */
async function adoptPassedSockets(config: Config): Promise<ActivatedSocket[]> {
  const fds = takeListenFds();
  if (fds.length === 0) return [];
  if (!nativeAvailable()) throw new NativeMissingError('build/native/Release/vrf_socket.node');
  return adoptListenFds(fds, { device: config.vrf });
}

/**
 * `ensure-loopback`: what the unit's privileged ExecStartPre=+ runs (AddLoopbackAddresses=).
 * `run` never does it itself: the long-running resolver changes no network configuration, and
 * without the addresses its bind() fails with EADDRNOTAVAIL and says what to run.
 */
async function ensureLoopbackCommand(load: LoadOptions): Promise<number> {
  const config = loadOrReport(load);
  if (config === null) return EX_CONFIG;
  const log = createLogger(config.logLevel, config.vrf, undefined, config.logFormat ?? detectLogFormat());
  const need = neededLoopback(config);
  try {
    if (need === null) {
      const why = config.vrf === null ? 'the default VRF uses lo' : config.addLoopbackAddresses === false ? 'AddLoopbackAddresses=no' : 'no loopback listener';
      log.info({ reason: why }, 'no loopback addresses to add');
    } else {
      const r = await ensureLoopback(need.device, need.addresses);
      log.info({ device: need.device, added: r.added, present: r.present },
        r.added.length > 0 ? 'loopback addresses added' : 'loopback addresses already present');
    }
  } catch (e) {
    log.fatal({ err: (e as Error).message, device: need?.device }, 'cannot add the loopback addresses');
    await finishLog(log);
    return 1;
  }
  await finishLog(log);
  return 0;
}

/** `check-config --instance NAME`: like check-config FILE, with the instance's optional file. */
function checkInstance(load: LoadOptions, file: string): number {
  const label = load.fileOptional === true && !existsSync(file) ? `${file} (absent, optional)` : file;
  try {
    process.stdout.write(summarize(label, loadConfig(load)));
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.problems.map((p) => `${p.path}: ${p.message}`);
    lines.push(`${label}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}, not valid`);
    writeError(detectLogFormat(), lines.join('\n'));
    return EX_CONFIG;
  }
}

function loadOrReport(load: LoadOptions): Config | null {
  try {
    return loadConfig(load);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    writeError(detectLogFormat(), e.message);
    return null;
  }
}

/** To stderr; in the journal each line gets the error priority (<3>) so -p err finds it. */
function writeError(format: LogFormat, text: string): void {
  const prefix = format === 'journal' ? journalPrefix('error') : '';
  process.stderr.write(text.split('\n').map((l) => `${prefix}vrf-resolver: ${l}`).join('\n') + '\n');
}

/**
 * Sockets come from the native helper whenever it is built: it is the only way to bind a
 * device, and it behaves the same without one. A default-VRF instance still runs without it.
 */
function socketFactory(device: string | null, log: Logger): SocketFactory {
  if (nativeAvailable()) return createNativeSocketFactory(device);
  if (device !== null) throw new NativeMissingError('build/native/Release/vrf_socket.node');
  log.info('native socket helper not built; default VRF served with Node sockets');
  return createPlainSocketFactory();
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Every line logged so far written out; for the exit that follows. */
function finishLog(log: Logger): Promise<void> {
  return closeLogger(log);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vrf-resolver: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
