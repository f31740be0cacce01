// Where sockets come from, for the main thread (cli/commands/run.ts) and each worker thread
// (app/worker-thread.ts) alike: the native helper whenever it is built, since it is the only way
// to bind a device and it behaves the same without one; Node's own sockets for a default-VRF
// instance on a host where it is not built.

import type { Logger } from 'pino';
import { NativeMissingError } from '../errors.js';
import { nativeAvailable } from '../native/binding.js';
import { createNativeSocketFactory, type NativeFactoryOptions } from '../net/native-factory.js';
import { createPlainSocketFactory } from '../net/plain-factory.js';
import type { SocketFactory } from '../net/socket-factory.js';

/** The factory for sockets bound to `device` (null: the default VRF). */
export function socketFactory(device: string | null, log: Logger, options: NativeFactoryOptions = {}): SocketFactory {
  if (nativeAvailable()) return createNativeSocketFactory(device, options);
  if (device !== null || options.reusePort === true) throw new NativeMissingError('build/native/Release/vrf_socket.node');
  log.info('native socket helper not built; default VRF served with Node sockets');
  return createPlainSocketFactory();
}

/** One native factory per device named by ADDR%DEVICE servers, made once and kept (reloads reuse it). */
export function deviceFactories(): (device: string) => SocketFactory {
  const made = new Map<string, SocketFactory>();
  return (device) => {
    let f = made.get(device);
    if (f === undefined) made.set(device, (f = createNativeSocketFactory(device)));
    return f;
  };
}
