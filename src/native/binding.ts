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
  /** SO_REUSEPORT, before bind: the listeners of Workers= share one address and port. */
  readonly reusePort?: boolean;
  /** IPV6_V6ONLY; family 6 only. */
  readonly v6Only?: boolean;
  /** listen(backlog) after bind; type 'tcp' only. */
  readonly backlog?: number;
}

export type NativeSyscall =
  | 'socket' | 'setsockopt' | 'bind' | 'listen' | 'close' | 'sendto' | 'getsockopt' | 'getsockname' | 'fcntl'
  // netlinkOpen: reading the socket, and libuv's poll handle on it
  | 'recv' | 'uv_poll_init' | 'uv_poll_start'
  // udpExchanger
  | 'epoll_create1' | 'epoll_ctl';

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

/** What listenFdInfo() finds out about a socket passed by the service manager. */
export interface ListenFdInfo {
  readonly type: 'udp' | 'tcp' | 'other';
  /** 0: neither IPv4 nor IPv6 (an AF_UNIX socket, say). */
  readonly family: 4 | 6 | 0;
  /** SO_ACCEPTCONN: a TCP socket on which listen() was called. */
  readonly listening: boolean;
  /** SO_BINDTODEVICE; null when the socket is not bound to a device. */
  readonly device: string | null;
  /** getsockname(); null for families other than IPv4 and IPv6. */
  readonly address: string | null;
  readonly port: number | null;
}

/** An open NETLINK_ROUTE socket (netlinkOpen). */
export interface NetlinkHandle {
  /**
   * Asks the kernel for every link ('link', RTM_GETLINK) or every IPv4 and IPv6 address
   * ('addr', RTM_GETADDR). The replies arrive through onData and end with NLMSG_DONE. One dump
   * at a time: the kernel answers a second request with EBUSY (an NLMSG_ERROR reply) while one
   * runs, so wait for NLMSG_DONE before the next. Throws NativeSocketError (syscall 'sendto';
   * EBADF once closed).
   */
  dump(what: 'link' | 'addr'): void;
  /** Stops reading and closes the socket; onData is not called again. Idempotent. */
  close(): void;
}

/**
 * Raw datagrams of the socket, in kernel order, once per wakeup of the event loop; parse them
 * with parseNetlink (net/netlink.ts). err is set (datagrams empty) when events were lost:
 * 'ENOBUFS' (the receive queue overflowed) or 'EMSGSIZE' (a datagram did not fit), both with
 * syscall 'recv'. Reading goes on after an error; the state must be dumped again.
 */
export type NetlinkOnData = (err: NativeSocketError | null, datagrams: Buffer[]) => void;

/**
 * A UDP listener's socket read with recvmmsg and answered with sendmmsg (udpServe,
 * native/src/udp_batch.cc). The slots are rewritten by every batch: copy what is kept past
 * onBatch.
 */
export interface UdpBatchHandle {
  /** The datagrams of the batch: datagram i is data[i * slotBytes, + lengths[i]). */
  readonly data: Buffer;
  readonly lengths: Int32Array;
  /** Each sender, a sockaddr_in or sockaddr_in6 of addrBytes: addrs[i * addrBytes, + addrBytes). */
  readonly addrs: Buffer;
  /** MAX_QUERY_LEN + 1: a longer datagram arrives cut to this, and the pipeline drops it. */
  readonly slotBytes: number;
  readonly addrBytes: number;
  /**
   * Replies after the batch (cache misses), replies[i] to addrs[i] (a copy of its sender's addrs
   * slot), in one sendmmsg per 64. Returns 0 or the errno of the last failed send; TypeError
   * for arrays of different lengths or entries that are not Buffers of the right size.
   */
  sendLater(replies: readonly Buffer[], addrs: readonly Buffer[]): number;
  /** Stops reading and closes the socket; onBatch is not called again. Idempotent. */
  close(): void;
}

/**
 * Called once per batch of `count` datagrams; returns the replies, replies[i] (a Buffer, or
 * null for none) for datagram i, sent in one sendmmsg once it returns. sendErrno: the errno of
 * a reply that could not be sent since the previous call, or 0.
 */
export type UdpOnBatch = (count: number, sendErrno: number) => ReadonlyArray<Buffer | null> | undefined;

/**
 * The sockets of upstream UDP exchanges, one per query on a random port, made and read by the
 * helper (udpExchanger, native/src/udp_exchange.cc). The slots are rewritten by every batch:
 * copy what is kept past onReplies.
 */
export interface UdpExchangerHandle {
  /** Datagram i of a batch is data[i * slotBytes, + lengths[i]). */
  readonly data: Buffer;
  readonly lengths: Int32Array;
  /** The exchange (the fd open() returned) datagram i reached. */
  readonly fds: Int32Array;
  /** 1 when datagram i came from the address and port its exchange's query went to. */
  readonly fromPeer: Uint8Array;
  readonly slotBytes: number;
  /** What open() sends: its first `length` bytes. */
  readonly query: Buffer;
  /**
   * An id for address:port, kept by the helper (the same id for the same peer again). TypeError
   * for a bad family, address or port. Callable without `this`, as open and finish are.
   */
  peer(family: 4 | 6, address: string, port: number): number;
  /**
   * A fresh socket (device set, no bind: the send picks a random port), query[0, length) sent
   * from it to the peer; returns its fd. Throws NativeSocketError (syscall 'socket',
   * 'setsockopt', 'epoll_ctl' or 'sendto'; nothing left open) or TypeError on bad arguments.
   */
  open(peer: number, length: number): number;
  /** Closes an exchange's socket. TypeError for an fd that open() did not return or that is finished. */
  finish(fd: number): void;
  /** Closes every exchange socket and stops reading; onReplies is not called again. Idempotent. */
  close(): void;
}

/** Called once per batch of `count` datagrams that reached exchange sockets. */
export type UdpOnReplies = (count: number) => void;

interface NativeAddon {
  createSocket(opts: CreateSocketOptions): number;
  closeFd(fd: number): void;
  dupFd(fd: number): number;
  sdNotify(path: string, message: string): void;
  listenFdInfo(fd: number): ListenFdInfo;
  netlinkOpen(onData: NetlinkOnData): NetlinkHandle;
  udpServe(fd: number, onBatch: UdpOnBatch): UdpBatchHandle;
  udpExchanger(device: string | null, onReplies: UdpOnReplies): UdpExchangerHandle;
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

/**
 * A second descriptor of the same socket (close-on-exec), owned by the caller: a worker thread
 * serves a socket passed by systemd through its own. Throws NativeSocketError (EBADF) if fd is not open.
 */
export function dupFd(fd: number): number {
  return load().dupFd(fd);
}

/**
 * Sends `message` as one datagram to the notification socket at `path` ($NOTIFY_SOCKET: a path,
 * or an abstract name starting with '@'), as sd_notify(3) does. Throws TypeError on a bad path
 * and NativeSocketError (syscall 'socket' or 'sendto', address = path) when sending fails.
 */
export function sdNotify(path: string, message: string): void {
  load().sdNotify(path, message);
}

/**
 * Type, family, bound address and device of an fd passed by the service manager (LISTEN_FDS);
 * sets FD_CLOEXEC on it as sd_listen_fds(3) does. Throws NativeSocketError (EBADF, ENOTSOCK)
 * when the fd is not an open socket, and leaves it untouched then.
 */
export function listenFdInfo(fd: number): ListenFdInfo {
  return load().listenFdInfo(fd);
}

/**
 * Opens a NETLINK_ROUTE socket subscribed to link and address changes (IPv4 and IPv6),
 * non-blocking and close-on-exec, and reads it on Node's event loop. The socket keeps the
 * process alive until close(); a handle dropped without close() is closed when it is
 * garbage-collected. Throws TypeError when onData is not a function and NativeSocketError
 * (syscall 'socket' or 'bind') when the socket cannot be opened (no fd is left open).
 */
export function netlinkOpen(onData: NetlinkOnData): NetlinkHandle {
  return load().netlinkOpen(onData);
}

/**
 * Serves a bound UDP socket in batches (recvmmsg/sendmmsg, one onBatch call per batch). The fd
 * is the helper's from this call on, also when it throws (it is closed then). Throws TypeError
 * (not a datagram socket, onBatch not a function) or NativeSocketError.
 */
export function udpServe(fd: number, onBatch: UdpOnBatch): UdpBatchHandle {
  return load().udpServe(fd, onBatch);
}

/**
 * An exchanger for upstream UDP sockets bound to `device` (null: none). It does not keep the
 * process alive by itself. Throws TypeError or NativeSocketError (syscall 'epoll_create1',
 * 'uv_poll_init', 'uv_poll_start').
 */
export function udpExchanger(device: string | null, onReplies: UdpOnReplies): UdpExchangerHandle {
  return load().udpExchanger(device, onReplies);
}

export function isNativeSocketError(e: unknown): e is NativeSocketError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { errno?: unknown }).errno === 'number' && typeof (e as { syscall?: unknown }).syscall === 'string';
}
