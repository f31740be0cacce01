// The TLS exchange (upstream/tls.ts) against a Node TLS server on loopback that sees every byte:
// queries padded to 128 (RFC 8467), many queries pipelined on one connection and answered out of
// order (RFC 7858 3.3), the session resumed on the next connection after an idle close (3.4).
// Real verification failures against unbound are in dot.test.ts.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder, frame } from '../../src/net/framing.js';
import { createPlainSocketFactory } from '../../src/net/plain-factory.js';
import { parseQuery } from '../../src/dns/query.js';
import { upstreamQuery } from '../../src/dns/synth.js';
import { toUpstreamServer } from '../../src/upstream/server.js';
import { QUERY_PAD_BLOCK, createTlsExchange } from '../../src/upstream/tls.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';

let dir: string;
let server: tls.Server;
let port: number;
const seen: Array<{ len: number; padding: number | null }> = [];
const conns: Array<{ resumed: boolean }> = [];
/** Set by a test: hold replies until this many queries arrived, then answer in reverse. */
let holdUntil = 0;
const held: Array<() => void> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vr-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 20_000 });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
    '-subj', '/CN=dns.example.test', '-addext', 'subjectAltName=DNS:dns.example.test', '-days', '2');
  server = tls.createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (sock) => {
    conns.push({ resumed: sock.isSessionReused() });
    const decoder = new FrameDecoder(65535);
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let m = decoder.next(); m !== null && m !== 'too-large'; m = decoder.next()) {
        const q = Buffer.from(m);
        const opt = decode(q).additionals?.find((r) => r.type === 'OPT') as { options?: Array<{ code: number; data: Buffer }> } | undefined;
        seen.push({ len: q.length, padding: opt?.options?.find((o) => o.code === 12)?.data.length ?? null });
        const send = () => sock.write(frame(replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.9')] })));
        if (holdUntil === 0) send();
        else {
          held.push(send);
          if (held.length === holdUntil) for (const s of held.splice(0).reverse()) s();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A padded upstream query for `name`, as the pool makes it, and its question. */
function ask(name: string) {
  const v = parseQuery(query(name, 'A', { edns: { udpSize: 1232 } }));
  if (v.kind !== 'ok') throw new Error('bad test query');
  const q = upstreamQuery(v.query, Math.floor(Math.random() * 0x10000), 1232, QUERY_PAD_BLOCK);
  return { q, question: v.query.msg.subarray(12, v.query.questionEnd) };
}

describe('TLS upstream exchange', () => {
  const target = () => toUpstreamServer({ family: 4, address: '127.0.0.1', port, tlsName: 'dns.example.test' });
  const opts = () => ({ mode: 'yes' as const, caFile: join(dir, 'c.pem'), pinsSha256: [], idleTimeoutMs: 150 });

  it('pipelines 20 padded queries on one connection, answered in reverse order', async () => {
    seen.length = 0;
    conns.length = 0;
    holdUntil = 20;
    const exchange = createTlsExchange(createPlainSocketFactory(), opts());
    const names = Array.from({ length: 20 }, (_, i) => `p${i}.${'x'.repeat(i + 1)}.example.test`);
    const replies = await Promise.all(names.map((n) => { const { q, question } = ask(n); return exchange(target(), q, question, 3000); }))
      .finally(() => { holdUntil = 0; });
    expect(replies.map((r) => decode(r).questions![0]!.name)).toEqual(names);
    expect(conns).toHaveLength(1);
    expect(seen).toHaveLength(20);
    for (const s of seen) {
      expect(s.len % QUERY_PAD_BLOCK).toBe(0);
      expect(s.padding).not.toBeNull();
    }
  });

  it('closes the connection when idle, and resumes the TLS session on the next one', async () => {
    conns.length = 0;
    const exchange = createTlsExchange(createPlainSocketFactory(), opts());
    const first = ask('one.example.test');
    await exchange(target(), first.q, first.question, 3000);
    await new Promise((r) => setTimeout(r, 400)); // past the 150 ms idle timeout
    const second = ask('two.example.test');
    expect(decode(await exchange(target(), second.q, second.question, 3000)).questions![0]!.name).toBe('two.example.test');
    expect(conns.map((c) => c.resumed)).toEqual([false, true]);
  });

  it('a query with a 1-byte name and one with a 200-byte name both land on a 128 multiple', () => {
    for (const name of ['a.test', `${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(60)}.test`]) {
      const { q } = ask(name);
      expect(q.length % QUERY_PAD_BLOCK).toBe(0);
    }
  });
});
