// The control socket's protocol, version 1: one JSON object per line each way, over a Unix stream
// socket. A client may send several requests on one connection; each reply carries the request's
// id. Requests are small and checked field by field before anything acts on them; a malformed,
// unknown or oversize request gets an error reply (or, past the size bound, the connection is
// closed), and serving DNS never notices.
//
//   → {"v":1,"id":1,"command":"status"}
//   ← {"v":1,"id":1,"ok":true,"result":{...StatusReport}}
//   → {"v":1,"id":2,"command":"flush-caches","name":"example.com"}
//   ← {"v":1,"id":2,"ok":true,"result":{"flushed":3}}
//   → {"v":1,"id":3,"command":"nonsense"}
//   ← {"v":1,"id":3,"ok":false,"error":{"code":"VR_ERR_CONTROL_REQUEST","message":"unknown command ..."}}

import { LOG_LEVELS } from '../config/schema.js';
import type { LogLevel } from '../config/types.js';

export const PROTOCOL_VERSION = 1;
/** Longest request line; a request is a command and a name, far below this. */
export const MAX_REQUEST_BYTES = 4096;

export const CONTROL_COMMANDS = ['status', 'statistics', 'flush-caches', 'log-level', 'cache-lookup'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export type ControlRequest =
  | { readonly command: 'status' }
  | { readonly command: 'statistics'; readonly reset: boolean }
  | { readonly command: 'flush-caches'; readonly name?: string }
  | { readonly command: 'log-level'; readonly level: LogLevel }
  /** Is an answer to NAME TYPE (no DO, no CD: what `vrf-resolver query` asks) cached? */
  | { readonly command: 'cache-lookup'; readonly name: string; readonly type: number };

export interface ControlErrorBody {
  readonly code: string;
  readonly message: string;
}

export type ControlReply =
  | { readonly v: 1; readonly id: unknown; readonly ok: true; readonly result: unknown }
  | { readonly v: 1; readonly id: unknown; readonly ok: false; readonly error: ControlErrorBody };

export type ParsedRequest =
  | { readonly ok: true; readonly id: unknown; readonly request: ControlRequest }
  | { readonly ok: false; readonly id: unknown; readonly message: string };

/** One request line (without its newline). Never throws. */
export function parseRequest(line: string): ParsedRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, id: null, message: 'not JSON: a request is one JSON object per line, e.g. {"v":1,"id":1,"command":"status"}' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, id: null, message: 'a request is a JSON object' };
  const o = v as Record<string, unknown>;
  const id = typeof o['id'] === 'number' || typeof o['id'] === 'string' ? o['id'] : null;
  const bad = (message: string): ParsedRequest => ({ ok: false, id, message });
  if (o['v'] !== PROTOCOL_VERSION) return bad(`unsupported protocol version ${JSON.stringify(o['v'] ?? null)}; this instance speaks ${PROTOCOL_VERSION}`);
  const command = o['command'];
  const known = new Set(['v', 'id', 'command', 'name', 'level', 'reset', 'type']);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length > 0) return bad(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  switch (command) {
    case 'status':
      return { ok: true, id, request: { command } };
    case 'statistics': {
      const reset = o['reset'] ?? false;
      if (typeof reset !== 'boolean') return bad('"reset" must be true or false');
      return { ok: true, id, request: { command, reset } };
    }
    case 'flush-caches': {
      const name = o['name'];
      if (name === undefined) return { ok: true, id, request: { command } };
      if (typeof name !== 'string' || name === '' || name.length > 1024) return bad('"name" must be a domain name');
      return { ok: true, id, request: { command, name } };
    }
    case 'log-level': {
      const level = o['level'];
      if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
        return bad(`"level" must be one of ${LOG_LEVELS.join(', ')}`);
      }
      return { ok: true, id, request: { command, level: level as LogLevel } };
    }
    case 'cache-lookup': {
      const name = o['name'];
      const type = o['type'];
      if (typeof name !== 'string' || name === '' || name.length > 1024) return bad('"name" must be a domain name');
      if (typeof type !== 'number' || !Number.isInteger(type) || type < 1 || type > 65535) return bad('"type" must be a record type number, 1 to 65535');
      return { ok: true, id, request: { command, name, type } };
    }
    default:
      return bad(`unknown command ${JSON.stringify(command ?? null)}; commands: ${CONTROL_COMMANDS.join(', ')}`);
  }
}

export function okReply(id: unknown, result: unknown): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, ok: true, result }) + '\n';
}

export function errorReply(id: unknown, code: string, message: string): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, ok: false, error: { code, message } }) + '\n';
}
