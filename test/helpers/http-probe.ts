// A raw HTTP/1.1 exchange from inside a namespace, independent of the code under test: node's
// net module sends exactly the bytes given (garbage included) and reads until the server closes.
// Every exchange is bounded: connect and the whole reply within timeoutMs.

import type { Netns } from './netns.js';

// argv: host port timeoutMs requestBase64; prints one JSON line.
const PROBE = `
import net from 'node:net';
const [host, port, timeoutMs, req] = process.argv.slice(1);
const started = Date.now();
const chunks = [];
let done = false;
const finish = (o) => { if (done) return; done = true; process.stdout.write(JSON.stringify({ ...o, ms: Date.now() - started }) + '\\n'); sock.destroy(); };
const sock = net.connect({ host, port: Number(port) }, () => sock.write(Buffer.from(req, 'base64')));
sock.setTimeout(Number(timeoutMs), () => finish({ ok: false, error: 'ETIMEDOUT', connected: sock.bytesWritten > 0, raw: Buffer.concat(chunks).toString('latin1') }));
sock.on('data', (d) => chunks.push(d));
sock.on('end', () => finish({ ok: true, raw: Buffer.concat(chunks).toString('latin1') }));
sock.on('error', (e) => finish({ ok: false, error: e.code ?? e.message, connected: sock.bytesWritten > 0, raw: Buffer.concat(chunks).toString('latin1') }));
`;

export interface HttpReply {
  /** True when the server answered and closed the connection. */
  ok: boolean;
  /** ECONNREFUSED, ETIMEDOUT, ECONNRESET ... when not ok. */
  error?: string;
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** Everything received, as latin1. */
  raw: string;
  ms: number;
}

export function parseHttpReply(raw: string): Pick<HttpReply, 'status' | 'headers' | 'body'> {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { ...(status !== undefined && { status: Number(status) }), headers, body: end < 0 ? '' : raw.slice(end + 4) };
}

/** Sends `request` (raw bytes) to host:port from inside `ns` and reads the reply until close. */
export async function httpExchange(ns: Netns, host: string, port: number, request: string | Buffer, timeoutMs = 3_000): Promise<HttpReply> {
  const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
  const r = await ns.exec(process.execPath, ['--input-type=module', '-e', PROBE, host, String(port), String(timeoutMs), bytes.toString('base64')], {
    timeoutMs: timeoutMs + 5_000,
  });
  let o: { ok: boolean; error?: string; raw?: string; ms: number };
  try {
    o = JSON.parse(r.stdout.trim()) as typeof o;
  } catch {
    throw new Error(`http probe in ${ns.name} failed (exit ${String(r.code)}): ${r.stderr.trim()}`);
  }
  const raw = o.raw ?? '';
  return { ok: o.ok, ...(o.error !== undefined && { error: o.error }), ...parseHttpReply(raw), raw, ms: o.ms };
}

/** A plain GET of `path`, as a scraper sends it. */
export function httpGet(ns: Netns, host: string, port: number, path = '/metrics', timeoutMs = 3_000): Promise<HttpReply> {
  return httpExchange(ns, host, port, `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/plain\r\n\r\n`, timeoutMs);
}
