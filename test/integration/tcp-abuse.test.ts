// TCP clients that misbehave (RFC 7766 sections 6.2.3 and 8), on real loopback sockets against
// a whole instance. Whatever they do, they are cut off within a bound, and a real client is
// still served afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { frame } from '../../src/net/framing.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig } from '../helpers/instance.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(o: { tcpIdleTimeoutMs?: number; tcpMaxConnections?: number; tcpMaxConnectionsPerClient?: number } = {}) {
  const up = await startFakeUpstream((q, _t, r) => r.reply(replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.90')] })));
  cleanups.push(() => up.close());
  const port = await freePort();
  const app = await startInstance(
    testConfig({ listen: [{ family: 4, address: '127.0.0.1', port }], upstreams: [{ family: 4, address: '127.0.0.1', port: up.port }], ...o }),
  );
  cleanups.push(() => app.close());
  return { port };
}
function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.on('error', () => {}); // resets are what these tests provoke
    s.once('error', reject);
    cleanups.push(async () => void s.destroy());
  });
}
/** Resolves with the ms it took the server to close `s`; rejects after `limitMs`. */
function closedWithin(s: net.Socket, limitMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve(0);
    const t = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve(performance.now() - started);
    });
  });
}
async function digTcp(port: number, name: string): Promise<string> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), '+tcp', '+tries=1', '+time=3', '+short', name], { timeout: 10_000 });
  return r.stdout.trim();
}

describe('TCP abuse (RFC 7766)', () => {
  it('closes a connection that sent one byte of the length prefix, after the idle timeout', async () => {
    const { port } = await setup({ tcpIdleTimeoutMs: 300 });
    const s = await connect(port);
    s.write(Buffer.from([0]));
    expect(await closedWithin(s, 3000)).toBeGreaterThanOrEqual(250);
  });

  it('closes at once a connection announcing a message over the 4096-octet query cap', async () => {
    const { port } = await setup({ tcpIdleTimeoutMs: 5000 });
    const s = await connect(port);
    s.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    expect(await closedWithin(s, 1000)).toBeLessThan(1000);
  });

  it('cuts off a message that trickles in for longer than the idle timeout, though bytes keep coming', async () => {
    const { port } = await setup({ tcpIdleTimeoutMs: 400 });
    const s = await connect(port);
    s.write(Buffer.from([0x0f, 0xa0])); // 4000 octets announced
    const timer = setInterval(() => !s.destroyed && s.write(Buffer.from([0x41])), 100);
    cleanups.push(async () => clearInterval(timer));
    expect(await closedWithin(s, 3000)).toBeLessThan(1500);
  });

  it('still serves a real client when idle connections fill the cap: the idlest is evicted', async () => {
    const { port } = await setup({ tcpIdleTimeoutMs: 60_000, tcpMaxConnections: 8 });
    const idle = [];
    for (let i = 0; i < 8; i++) idle.push(await connect(port));
    const firstClosed = closedWithin(idle[0]!, 5000);
    expect(await digTcp(port, 'real.example.test')).toBe('192.0.2.90');
    await firstClosed;
    expect(idle.slice(1).every((s) => !s.destroyed)).toBe(true);
  });

  it('closes a connection whose client pipelines queries and never reads the replies', async () => {
    const { port } = await setup({ tcpIdleTimeoutMs: 30_000 });
    const s = await connect(port);
    s.pause(); // never read
    const batch = Buffer.concat(Array.from({ length: 500 }, (_, i) => frame(query('flood.example.test', 'A', { id: i }))));
    let written = 0;
    const closed = closedWithin(s, 15_000);
    // Bounded: at most 40 MB of queries, or until the server hangs up.
    while (!s.destroyed && written < 40e6) {
      if (!s.write(batch)) await new Promise<void>((r) => { s.once('drain', r); s.once('close', r); });
      written += batch.length;
    }
    await closed;
    expect(written).toBeLessThan(40e6);
    expect(await digTcp(port, 'after.example.test')).toBe('192.0.2.90');
  });

  it('caps connections per client address: the client\'s own idlest goes, other clients keep theirs', async () => {
    const { port } = await setup({ tcpIdleTimeoutMs: 60_000, tcpMaxConnections: 100, tcpMaxConnectionsPerClient: 4 });
    const other = await connect(port, '127.0.0.2');
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push(await connect(port, '127.0.0.3'));
    const firstClosed = closedWithin(mine[0]!, 5000);
    mine.push(await connect(port, '127.0.0.3'));
    await firstClosed;
    expect(mine.slice(1).every((s) => !s.destroyed)).toBe(true);
    expect(other.destroyed).toBe(false);
  });
});
