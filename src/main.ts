#!/usr/bin/env node
// The `vrf-resolver` command. Runs in the foreground, never daemonizes (systemd or the
// operator's shell owns the process), stops cleanly on SIGTERM and SIGINT.
// Exit codes: 0 fine, 1 runtime failure (a listener could not open...), 2 usage error,
// 78 invalid configuration (EX_CONFIG from sysexits.h; the unit does not restart on it).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseArgs, type Command } from './cli/args.js';
import { helpText } from './cli/help.js';
import { checkConfig } from './cli/check-config.js';
import { loadConfig } from './config/load.js';
import { formatEndpoint } from './config/endpoint.js';
import type { Config } from './config/types.js';
import { ConfigError, NativeMissingError } from './errors.js';
import { createLogger } from './log.js';
import { App } from './app.js';
import { nativeAvailable, packageRoot } from './native/binding.js';
import { createNativeSocketFactory } from './net/native-factory.js';
import { createPlainSocketFactory } from './net/plain-factory.js';
import type { SocketFactory } from './net/socket-factory.js';

const EX_USAGE = 2;
const EX_CONFIG = 78;

async function main(argv: readonly string[]): Promise<number> {
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
      return run(cmd);
  }
}

async function run(cmd: Extract<Command, { kind: 'run' }>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig({ file: cmd.configFile, dropInDir: 'auto', flags: cmd.flags });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`vrf-resolver: ${e.message}\n`);
    return EX_CONFIG;
  }
  const log = createLogger(config.logLevel, config.vrf);
  let app: App;
  try {
    app = await App.start({
      config,
      listenFactory: socketFactory(config.vrf, log),
      upstreamFactory: socketFactory(config.upstream.device, log),
      log,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    log.fatal({ code: err.code, err: err.message }, 'cannot start');
    process.stderr.write(`vrf-resolver: ${err.message}\n`);
    await flush(log);
    return 1;
  }
  log.info(
    {
      listeners: app.listenerLabels,
      upstreams: config.upstream.servers.map(formatEndpoint),
      upstreamDevice: config.upstream.device,
      sources: config.sources,
      cacheMaxEntries: config.cache.enabled ? config.cache.maxEntries : 0,
    },
    'ready',
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'stopping');
  await app.close();
  log.info({ stats: app.stats, cacheEntries: app.cache?.size ?? 0 }, 'stopped');
  await flush(log);
  return 0;
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

function flush(log: Logger): Promise<void> {
  return new Promise((resolve) => log.flush(() => resolve()));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vrf-resolver: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
