// The control socket: a Unix stream socket speaking control/protocol.ts, a thin transport over
// the ControlApi. Bounded everywhere, because whoever reaches it must never disturb serving DNS:
// at most MAX_CONNECTIONS at once, requests of at most MAX_REQUEST_BYTES, idle connections closed,
// a client that does not read its replies cut off. Root only (mode 0600) unless ControlGroup=.

import net from 'node:net';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ControlError, ResolverError } from '../errors.js';
import { answers } from './client.js';
import { MAX_REQUEST_BYTES, errorReply, okReply, parseRequest, type ControlRequest } from './protocol.js';
import type { ControlApi } from './types.js';

/** Connections at once: operators and a monitoring agent, not a crowd. */
export const MAX_CONNECTIONS = 16;
/** A connection with no complete request for this long is closed. */
export const IDLE_TIMEOUT_MS = 10_000;
/** Replies a client has not read; past this it is cut off (it never reads). */
const MAX_UNREAD_BYTES = 1024 * 1024;

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export interface ControlServerOptions {
  readonly path: string;
  /** Group allowed besides root (mode 0660); null: mode 0600. */
  readonly group: string | null;
  readonly api: ControlApi;
  readonly log: Logger;
}

export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  await claimPath(o.path);
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => serve(sock, o, conns));
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new ControlError('VR_ERR_CONTROL_SOCKET', `cannot listen on ${o.path}: ${e.message}`, { cause: e })));
    server.listen({ path: o.path }, () => resolve());
  });
  server.on('error', (e) => o.log.warn({ code: 'VR_ERR_CONTROL_SOCKET', err: e.message }, 'control socket error'));
  const ino = lstatSync(o.path).ino;
  try {
    restrict(o.path, o.group, o.log);
  } catch (e) {
    server.close();
    throw e;
  }
  return {
    path: o.path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => {
          // Only our own socket file: a successor may have claimed the path meanwhile.
          try {
            if (lstatSync(o.path).ino === ino) unlinkSync(o.path);
          } catch {
            /* already gone */
          }
          resolve();
        });
      }),
  };
}

/**
 * Makes `path` ours to bind: its directory exists, and no other running instance answers there.
 * A socket left by a dead instance is removed; anything that is not a socket is never touched.
 */
async function claimPath(path: string): Promise<void> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new ControlError('VR_ERR_CONTROL_SOCKET',
      `cannot create ${dirname(path)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run as root, or give the socket ` +
      'a path you may write (ControlSocket=, --control PATH; an empty value turns it off)', { cause: e });
  }
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // free
  }
  if (!st.isSocket()) {
    throw new ControlError('VR_ERR_CONTROL_SOCKET', `${path} exists and is not a socket; remove it or set ControlSocket= to another path`);
  }
  if (await answers(path)) {
    throw new ControlError('VR_ERR_CONTROL_SOCKET',
      `${path} belongs to another running instance; give this one its own ControlSocket= (or --control PATH)`);
  }
  unlinkSync(path);
}

/** 0600, or 0660 with the ControlGroup= group. A group that cannot be set leaves it root-only. */
function restrict(path: string, group: string | null, log: Logger): void {
  chmodSync(path, 0o600);
  if (group === null) return;
  const gid = gidOf(group);
  if (gid === null) {
    log.warn({ code: 'VR_ERR_CONTROL_SOCKET', group }, 'ControlGroup= names no group in /etc/group; the control socket stays root-only');
    return;
  }
  try {
    chownSync(path, -1, gid);
    chmodSync(path, 0o660);
  } catch (e) {
    log.warn({ code: 'VR_ERR_CONTROL_SOCKET', group, err: (e as Error).message },
      'cannot give the control socket to ControlGroup=; under systemd add SupplementaryGroups= for it; it stays root-only');
  }
}

function gidOf(group: string): number | null {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === group && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
    }
  } catch {
    /* no /etc/group */
  }
  return null;
}

function serve(sock: net.Socket, o: ControlServerOptions, conns: Set<net.Socket>): void {
  conns.add(sock);
  sock.once('close', () => conns.delete(sock));
  sock.on('error', () => sock.destroy());
  sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
  let pending: Buffer = Buffer.alloc(0);
  // Replies leave in the order the requests came, one request at a time (some ask every worker).
  let replies: Promise<void> = Promise.resolve();
  sock.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (let nl = pending.indexOf(0x0a); nl >= 0; nl = pending.indexOf(0x0a)) {
      const line = pending.subarray(0, nl);
      pending = pending.subarray(nl + 1);
      if (line.length > MAX_REQUEST_BYTES) return tooLarge(sock);
      const text = line.toString('utf8');
      replies = replies.then(async () => {
        if (!sock.destroyed) reply(sock, await handle(text, o));
      });
    }
    if (pending.length > MAX_REQUEST_BYTES) tooLarge(sock);
  });
}

function tooLarge(sock: net.Socket): void {
  sock.end(errorReply(null, 'VR_ERR_CONTROL_REQUEST', `request longer than ${MAX_REQUEST_BYTES} bytes; closing`));
  sock.destroySoon();
}

function reply(sock: net.Socket, line: string): void {
  sock.write(line);
  if (sock.writableLength > MAX_UNREAD_BYTES) sock.destroy();
}

async function handle(line: string, o: ControlServerOptions): Promise<string> {
  const parsed = parseRequest(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!parsed.ok) return errorReply(parsed.id, 'VR_ERR_CONTROL_REQUEST', parsed.message);
  try {
    return okReply(parsed.id, await execute(parsed.request, o));
  } catch (e) {
    if (e instanceof ResolverError) return errorReply(parsed.id, e.code, e.message);
    o.log.error({ err: e instanceof Error ? e.message : String(e), command: parsed.request.command }, 'control request failed');
    return errorReply(parsed.id, 'VR_ERR_CONTROL_REQUEST', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function execute(r: ControlRequest, o: ControlServerOptions): Promise<unknown> {
  const { api, log } = o;
  switch (r.command) {
    case 'status':
      return api.status();
    case 'statistics': {
      const report = await api.statistics();
      if (r.reset) {
        await api.resetStatistics();
        log.info('statistics reset by the control socket');
      }
      return report;
    }
    case 'flush-caches': {
      const result = await api.flushCaches(r.name);
      log.info({ name: r.name ?? null, flushed: result.flushed }, 'cache flushed by the control socket');
      return result;
    }
    case 'log-level':
      return api.setLogLevel(r.level);
    case 'cache-lookup':
      return api.cacheLookup(r.name, r.type);
  }
}
