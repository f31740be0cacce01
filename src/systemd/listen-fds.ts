// Socket activation (sd_listen_fds(3)): when systemd starts us from vrf-resolver@NAME.socket it
// passes the listening sockets as fds 3, 4, ... and says so in LISTEN_FDS, LISTEN_PID and
// LISTEN_FDNAMES. We adopt them instead of binding our own listeners: a UDP socket's fd goes to
// the native helper, which serves it in batches (server/udp-batch.ts), a TCP one to
// server.listen({fd}).
//
// Each socket's type and family must be known before it is adopted, so the native helper asks
// the kernel (SO_TYPE, SO_DOMAIN,
// getsockname, SO_BINDTODEVICE). The device check matters: a socket unit without
// BindToDevice= would quietly serve the default VRF in place of the instance's.

import net from 'node:net';
import { ResolverError } from '../errors.js';
import { closeFd, listenFdInfo as nativeListenFdInfo, type ListenFdInfo } from '../native/binding.js';
import type { Endpoint } from '../config/types.js';

/** sd_listen_fds(3): the first passed descriptor. */
export const SD_LISTEN_FDS_START = 3;

export interface PassedFd {
  readonly fd: number;
  /** From LISTEN_FDNAMES (FileDescriptorName= in the socket unit); "unknown" when absent. */
  readonly name: string;
}

export type ActivatedSocket =
  /** The fd itself: the listener hands it to the native helper (ListenerSet.adopt). */
  | { readonly transport: 'udp'; readonly endpoint: Endpoint; readonly fd: PassedFd }
  | { readonly transport: 'tcp'; readonly endpoint: Endpoint; readonly server: net.Server; readonly fd: PassedFd };

/**
 * The fds passed to this process, or [] when none were (or they were meant for another
 * process: LISTEN_PID is not ours). Like sd_listen_fds(unset_environment=1) it removes the
 * LISTEN_* variables, so no child mistakes them for its own.
 */
export function takeListenFds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): PassedFd[] {
  const count = env['LISTEN_FDS'];
  const owner = env['LISTEN_PID'];
  const names = env['LISTEN_FDNAMES'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDNAMES'];
  if (count === undefined || owner !== String(pid)) return [];
  if (!/^[0-9]+$/.test(count)) throw activationError(`LISTEN_FDS="${count}" is not a number`);
  const n = Number(count);
  if (n > 64) throw activationError(`LISTEN_FDS=${n}: more sockets than a resolver instance can use (at most 64)`);
  const nameList = names === undefined ? [] : names.split(':');
  return Array.from({ length: n }, (_, i) => ({ fd: SD_LISTEN_FDS_START + i, name: nameList[i] || 'unknown' }));
}

export interface AdoptOptions {
  /** The device the sockets must be bound to: the instance's VRF, or null for the default VRF. */
  readonly device: string | null;
  /** Replaces the native helper in tests. */
  readonly info?: (fd: number) => ListenFdInfo;
}

/** Adopts every passed fd, or throws (VR_ERR_LISTEN) naming the first one that does not fit. */
export async function adoptListenFds(fds: readonly PassedFd[], opts: AdoptOptions): Promise<ActivatedSocket[]> {
  const info = opts.info ?? nativeListenFdInfo;
  const checked = fds.map((fd) => ({ fd, endpoint: check(fd, info(fd.fd), opts.device) }));
  const out: ActivatedSocket[] = [];
  try {
    for (const { fd, endpoint } of checked) {
      if (endpoint.transport === 'udp') {
        out.push({ transport: 'udp', endpoint: endpoint.ep, fd });
      } else {
        out.push({ transport: 'tcp', endpoint: endpoint.ep, server: await listenOnFd(fd.fd), fd });
      }
    }
  } catch (e) {
    for (const s of out) {
      if (s.transport === 'udp') closeFd(s.fd.fd);
      else s.server.close();
    }
    throw activationError(`cannot adopt a socket passed by systemd: ${(e as Error).message}`, e);
  }
  return out;
}

function check(fd: PassedFd, info: ListenFdInfo, device: string | null): { transport: 'udp' | 'tcp'; family: 4 | 6; ep: Endpoint } {
  const what = `fd ${fd.fd} ("${fd.name}")`;
  if (info.type === 'other' || info.family === 0 || info.address === null || info.port === null) {
    throw activationError(`${what} is not an IPv4 or IPv6 UDP or TCP socket: use ListenDatagram= and ListenStream= in the socket unit`);
  }
  const where = `${info.type} ${info.family === 6 ? `[${info.address}]` : info.address}:${info.port}`;
  if (info.type === 'tcp' && !info.listening) {
    throw activationError(`${what} (${where}) is not listening: the socket unit must use Accept=no (the default)`);
  }
  if (info.device !== device) {
    const has = info.device === null ? 'is not bound to a device' : `is bound to device ${info.device}`;
    const want = device === null ? 'the default VRF (no BindToDevice=)' : `VRF ${device} (BindToDevice=${device})`;
    throw activationError(`${what} (${where}) ${has}, but this instance serves ${want}: fix the socket unit`);
  }
  return { transport: info.type, family: info.family, ep: { family: info.family, address: info.address, port: info.port } };
}

/** A listening TCP socket's fd served by a net.Server (also a worker's duplicate, app/worker-thread.ts). */
export function listenOnFd(fd: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    // Node calls listen() again on the fd, with 511 unless told otherwise. systemd's default
    // Backlog= is SOMAXCONN; ask for more and the kernel caps it at net.core.somaxconn again.
    server.listen({ fd, exclusive: true, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function activationError(message: string, cause?: unknown): ResolverError {
  return new ResolverError('VR_ERR_LISTEN', `socket activation: ${message}`, { cause });
}
