// Loads the native socket helper (build/native/Release/vrf_socket.node, made by
// `npm run build:native`) and types its surface. Loading is lazy: importing this module never
// fails, so hosts without the addon can still use the plain socket factory; the first call
// throws NativeMissingError, which says what to run.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeMissingError } from '../errors.js';

/** Where cmake-js puts the addon with `--out build/native` (Release configuration). */
export const NATIVE_RELATIVE_PATH = 'build/native/Release/vrf_socket.node';

export interface CreateSocketOptions {
  readonly family: 4 | 6;
  readonly type: 'udp' | 'tcp';
  /** SO_BINDTODEVICE before bind(); null or absent: no device (the default VRF). */
  readonly device?: string | null;
  /** bind() to this address; absent: no bind (an upstream TCP socket, connected later). */
  readonly address?: string;
  /** Port for bind(); 0 lets the kernel pick a random ephemeral port. Needs address. */
  readonly port?: number;
  readonly reuseAddr?: boolean;
  readonly reusePort?: boolean;
  /** IPV6_V6ONLY; family 6 only. */
  readonly v6Only?: boolean;
  /** listen(backlog) after bind; type 'tcp' only. */
  readonly backlog?: number;
}

export type NativeSyscall = 'socket' | 'setsockopt' | 'bind' | 'listen' | 'close';

/** What the helper throws when a system call fails: Node's SystemError shape plus a hint. */
export interface NativeSocketError extends Error {
  /** errno name, e.g. 'ENODEV'. */
  readonly code: string;
  /** Negative errno, as Node reports it (ENODEV: -19). */
  readonly errno: number;
  readonly syscall: NativeSyscall;
  readonly device?: string;
  readonly address?: string;
  readonly port?: number;
  /** What to do about it (also in message); absent for errnos we have no advice for. */
  readonly hint?: string;
}

interface NativeAddon {
  createSocket(opts: CreateSocketOptions): number;
  closeFd(fd: number): void;
}

/** The directory holding vrf-resolver's package.json, from src/native/ or dist/native/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && isOurPackage(pkg)) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // Not found: fall back to the layout we know (two levels above src/native or dist/native).
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function isOurPackage(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'vrf-resolver';
  } catch {
    return false;
  }
}

export function nativeAddonPath(): string {
  return join(packageRoot(), NATIVE_RELATIVE_PATH);
}

let addon: NativeAddon | null = null;

function load(): NativeAddon {
  if (addon) return addon;
  const path = nativeAddonPath();
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new NativeMissingError(path, e);
  }
  return addon;
}

/** True when the addon loads; for choosing a factory and for `doctor`. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/**
 * One non-blocking, close-on-exec socket with the requested options applied in the order the
 * kernel needs (device, socket options, bind, listen). Returns its fd, which the caller owns.
 * Throws TypeError on bad options (no fd made) and NativeSocketError when a system call fails
 * (the fd is already closed).
 */
export function createSocket(opts: CreateSocketOptions): number {
  return load().createSocket(opts);
}

/** Closes an fd that Node did not adopt. Throws NativeSocketError (EBADF) if it is not open. */
export function closeFd(fd: number): void {
  load().closeFd(fd);
}

export function isNativeSocketError(e: unknown): e is NativeSocketError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { errno?: unknown }).errno === 'number' && typeof (e as { syscall?: unknown }).syscall === 'string';
}
