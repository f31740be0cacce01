// The client side of the control socket, for the CLI commands: find the running instances, send
// one request, wait (bounded) for its reply. Every failure is a ControlError with a stable code
// and a message that says what to do.

import net from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_DIR } from '../config/schema.js';
import { ControlError } from '../errors.js';
import { MAX_REQUEST_BYTES, PROTOCOL_VERSION, type ControlReply, type ControlRequest } from './protocol.js';

/** Largest reply we read (a status with many upstreams is a few KiB). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 5000;

/** The control socket of instance NAME by default: /run/vrf-resolver/NAME.sock. */
export function socketPathFor(instance: string, dir = CONTROL_DIR): string {
  return join(dir, `${instance}.sock`);
}

/** Sends one request and resolves with its result; rejects with a ControlError. */
export function controlRequest(path: string, request: ControlRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path });
    let buf = '';
    let done = false;
    const finish = (err: ControlError | null, result?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(result);
    };
    const timer = setTimeout(
      () => finish(new ControlError('VR_ERR_CONTROL_UNAVAILABLE', `${path}: no reply within ${timeoutMs} ms; is the instance stuck? (journalctl -u vrf-resolver@NAME)`)),
      timeoutMs,
    );
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      const line = JSON.stringify({ v: PROTOCOL_VERSION, id: 1, ...request }) + '\n';
      if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) finish(new ControlError('VR_ERR_CONTROL_REQUEST', 'request too large'));
      else sock.write(line);
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REPLY_BYTES) return finish(new ControlError('VR_ERR_CONTROL_REQUEST', `${path}: reply larger than ${MAX_REPLY_BYTES} bytes`));
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let reply: ControlReply;
      try {
        reply = JSON.parse(buf.slice(0, nl)) as ControlReply;
      } catch {
        return finish(new ControlError('VR_ERR_CONTROL_REQUEST', `${path}: the reply is not JSON; is this a vrf-resolver control socket?`));
      }
      if (reply.ok) finish(null, reply.result);
      else finish(new ControlError('VR_ERR_CONTROL_REQUEST', reply.error?.message ?? 'request failed'));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(unavailable(path, e)));
    sock.on('close', () => finish(new ControlError('VR_ERR_CONTROL_UNAVAILABLE', `${path}: the instance closed the connection without a reply`)));
  });
}

function unavailable(path: string, e: NodeJS.ErrnoException): ControlError {
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new ControlError('VR_ERR_CONTROL_UNAVAILABLE', `no instance is running at ${path}`, { cause: e });
  }
  if (e.code === 'EACCES') {
    return new ControlError('VR_ERR_CONTROL_UNAVAILABLE', `${path}: permission denied; run as root or as a member of the ControlGroup= group`, { cause: e });
  }
  return new ControlError('VR_ERR_CONTROL_UNAVAILABLE', `${path}: ${e.message}`, { cause: e });
}

/** A socket file in the control directory, and whether an instance answers on it. */
export interface FoundInstance {
  readonly instance: string;
  readonly path: string;
  readonly running: boolean;
}

/**
 * The instances with a socket in `dir`, each probed with a connect (a socket file left by a
 * killed instance refuses). Sorted by name; [] when the directory does not exist.
 */
export async function findInstances(dir = CONTROL_DIR): Promise<FoundInstance[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sock')).sort();
  } catch {
    return [];
  }
  return Promise.all(
    names.map(async (n) => {
      const path = join(dir, n);
      return { instance: n.slice(0, -'.sock'.length), path, running: await answers(path) };
    }),
  );
}

/** True when something accepts a connection on the Unix socket `path` (bounded to 1 s). */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.createConnection({ path });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}
