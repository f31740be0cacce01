// A whole instance on real loopback sockets: real dig as the client, a scripted upstream
// (test/helpers/fake-upstream.ts) that forges, delays, truncates and drops.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import type { App } from '../../src/app.js';
import { frame, FrameDecoder } from '../../src/net/framing.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { a, decode, query, replyTo, txt } from '../helpers/dns-packets.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function instance(
  upstreams: FakeUpstream[],
  o: { native?: boolean; tcpIdleTimeoutMs?: number; address?: string; staleSec?: number; staleClientTimeoutMs?: number; attemptTimeoutMs?: number; queryTimeoutMs?: number } = {},
) {
  const address = o.address ?? '127.0.0.1';
  const port = await freePort(address);
  const family = address.includes(':') ? 6 : 4;
  const app = await startInstance(
    testConfig({
      listen: [{ family, address, port }],
      upstreams: upstreams.map((u) => ({ family: u.address.includes(':') ? 6 : 4, address: u.address, port: u.port })),
      tcpIdleTimeoutMs: o.tcpIdleTimeoutMs,
      staleSec: o.staleSec,
      staleClientTimeoutMs: o.staleClientTimeoutMs,
      attemptTimeoutMs: o.attemptTimeoutMs,
      queryTimeoutMs: o.queryTimeoutMs,
    }),
    { native: o.native },
  );
  cleanups.push(() => app.close());
  return { app, port, address };
}
async function fake(script: Parameters<typeof startFakeUpstream>[0], address = '127.0.0.1') {
  const f = await startFakeUpstream(script, address);
  cleanups.push(() => f.close());
  return f;
}
const answerWith = (ip: string, ttl = 300) => (q: Buffer) => replyTo(q, { answers: [a(decode(q).questions![0]!.name, ip, ttl)] });

// The instance runs in this process: the client must not block the event loop (no execFileSync).
const run = promisify(execFile);
async function dig(address: string, port: number, ...args: string[]): Promise<string> {
  const r = await run('dig', [`@${address}`, '-p', String(port), '+tries=1', '+time=3', '+noall', '+answer', '+comments', ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.stdout;
}

describe('loopback instance with real dig', () => {
  it('forwards a query and answers a repeat from the cache', async () => {
    const up = await fake((q, _t, r) => r.reply(answerWith('192.0.2.80')(q)));
    const { port } = await instance([up]);
    expect(await dig('127.0.0.1', port, 'www.example.test', 'A')).toMatch(/www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.80/);
    expect(await dig('127.0.0.1', port, 'WWW.example.test', 'A')).toMatch(/WWW\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80/);
    expect(up.queries).toHaveLength(1);
  });

  it('answers over TCP, and over IPv6 (RFC 7766)', async () => {
    const up = await fake((q, _t, r) => r.reply(answerWith('192.0.2.81')(q)), '::1');
    const { port } = await instance([up], { address: '::1' });
    expect(await dig('::1', port, '+tcp', 'v6.example.test')).toMatch(/192\.0\.2\.81/);
    expect(await dig('::1', port, 'v6b.example.test')).toMatch(/192\.0\.2\.81/);
  });

  it.each([
    ['plain', false],
    ['native', true],
  ])('%s sockets: ignores forged replies from another port, with another ID or question, and counts them (RFC 5452)', async (_name, native) => {
    const up = await fake((q, _t, r) => {
      const real = answerWith('192.0.2.82')(q);
      r.replyFromOtherPort(answerWith('203.0.113.66')(q)); // right ID and question, wrong port
      r.reply(replyTo(q, { id: (q.readUInt16BE(0) + 1) & 0xffff, answers: [a('forged.example.test', '203.0.113.67')] }));
      r.reply(replyTo(q, { qname: 'other.example.test', answers: [a('other.example.test', '203.0.113.68')] }));
      setTimeout(() => r.reply(real), 30);
    });
    const { app, port } = await instance([up], { native });
    expect(await dig('127.0.0.1', port, 'spoof.example.test')).toMatch(/192\.0\.2\.82/);
    expect(app.stats.spoofedReplies).toBe(1);
    expect(app.stats.mismatchedReplies).toBe(2);
    expect(await dig('127.0.0.1', port, 'spoof.example.test')).toMatch(/192\.0\.2\.82/); // the cache holds the real one
    expect(up.queries).toHaveLength(1);
  });

  it('moves to the next upstream when the first does not answer', async () => {
    const silent = await fake(() => {});
    const good = await fake((q, _t, r) => r.reply(answerWith('192.0.2.83')(q)));
    const { port } = await instance([silent, good]);
    expect(await dig('127.0.0.1', port, 'slow.example.test')).toMatch(/192\.0\.2\.83/);
    expect(silent.queries).toHaveLength(1);
  });

  it('answers SERVFAIL within the query timeout when no upstream answers', async () => {
    const silent = await fake(() => {});
    const { port } = await instance([silent]);
    const started = Date.now();
    expect(await dig('127.0.0.1', port, 'dead.example.test')).toMatch(/status: SERVFAIL/);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('retries over TCP when the upstream sets TC=1, and the client gets the whole answer (RFC 7766 5)', async () => {
    const big = (q: Buffer) => replyTo(q, { answers: [1, 2, 3, 4].map((i) => txt('big.example.test', 'z'.repeat(200) + i)) });
    const up = await fake((q, transport, r) => r.reply(transport === 'udp' ? replyTo(q, { tc: true }) : big(q)));
    const { port } = await instance([up]);
    const out = await dig('127.0.0.1', port, '+bufsize=1232', 'big.example.test', 'TXT');
    expect(out.match(/IN\s+TXT/g)).toHaveLength(4);
    expect(up.queries.map((x) => x.transport)).toEqual(['udp', 'tcp']);
    // Without EDNS the same answer does not fit 512 octets: TC=1, and dig retries over TCP.
    expect((await run('dig', ['@127.0.0.1', '-p', String(port), '+noedns', '+ignore', 'big.example.test', 'TXT'], { encoding: 'utf8' })).stdout).toMatch(/flags: qr tc/);
  });

  it('answers FORMERR to a malformed query and keeps serving', async () => {
    const up = await fake((q, _t, r) => r.reply(answerWith('192.0.2.84')(q)));
    const { port } = await instance([up]);
    const bad = Buffer.concat([query('x.example.test'), Buffer.from([1, 2, 3])]);
    const reply = await udpAsk('127.0.0.1', port, bad);
    expect(reply && reply[3]! & 0x0f).toBe(1);
    expect(await udpAsk('127.0.0.1', port, Buffer.from([1, 2, 3]), 300)).toBeNull(); // unreadable: dropped
    expect(await dig('127.0.0.1', port, 'after.example.test')).toMatch(/192\.0\.2\.84/);
  });

  it('answers pipelined TCP queries on one connection (RFC 7766 6.2.1.1)', async () => {
    const up = await fake((q, _t, r) => r.reply(answerWith('192.0.2.85')(q)));
    const { port } = await instance([up]);
    const sock = net.connect(port, '127.0.0.1');
    cleanups.push(async () => void sock.destroy());
    const ids = [11, 12, 13];
    sock.write(Buffer.concat(ids.map((id) => frame(query(`p${id}.example.test`, 'A', { id })))));
    const got = await new Promise<number[]>((resolve, reject) => {
      const dec = new FrameDecoder(65535);
      const seen: number[] = [];
      const t = setTimeout(() => reject(new Error(`only ${seen.length} replies`)), 3000);
      sock.on('data', (c) => {
        dec.push(c);
        for (let m = dec.next(); m && m !== 'too-large'; m = dec.next()) seen.push(m.readUInt16BE(0));
        if (seen.length === ids.length) {
          clearTimeout(t);
          resolve(seen);
        }
      });
    });
    expect(got.sort()).toEqual(ids);
  });

  it('closes an idle TCP connection after TCPIdleTimeoutMs (RFC 7766 6.2.3)', async () => {
    const up = await fake(() => {});
    const { port } = await instance([up], { tcpIdleTimeoutMs: 300 });
    const sock = net.connect(port, '127.0.0.1');
    cleanups.push(async () => void sock.destroy());
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('still open after 3 s')), 3000);
      sock.on('close', () => {
        clearTimeout(t);
        resolve();
      });
      sock.on('error', () => {});
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('serves a stale answer with TTL 30 when the upstream went silent after the TTL ran out (RFC 8767)', async () => {
    let up = true;
    const f = await fake((q, _t, r) => up && r.reply(answerWith('192.0.2.86', 1)(q)));
    const { port } = await instance([f], { staleSec: 3600 });
    expect(await dig('127.0.0.1', port, 'stale.example.test')).toMatch(/\s1\s+IN\s+A\s+192\.0\.2\.86/);
    up = false;
    await new Promise((r) => setTimeout(r, 1200));
    const out = await dig('127.0.0.1', port, 'stale.example.test');
    expect(out).toMatch(/\s30\s+IN\s+A\s+192\.0\.2\.86/);
    expect(out).toMatch(/EDE: 3 \(Stale Answer\)/);
  });

  it('a slow refresh: dig gets the stale answer after ServeStaleClientTimeoutMs, long before QueryTimeoutMs, and the refresh fills the cache (RFC 8767 5)', async () => {
    let delayMs = 0;
    let ip = '192.0.2.87';
    let ttl = 1;
    const f = await fake((q, _t, r) => {
      const reply = answerWith(ip, ttl)(q);
      setTimeout(() => r.reply(reply), delayMs);
    });
    const { port } = await instance([f], { staleSec: 3600, staleClientTimeoutMs: 300, attemptTimeoutMs: 4000, queryTimeoutMs: 4000 });
    expect(await dig('127.0.0.1', port, 'slow-refresh.example.test')).toMatch(/\s1\s+IN\s+A\s+192\.0\.2\.87/);
    await new Promise((r) => setTimeout(r, 1200));
    delayMs = 2000; // the refresh takes 2 s; the stale answer must come long before
    ip = '192.0.2.88';
    ttl = 60;
    const out = await dig('127.0.0.1', port, 'slow-refresh.example.test');
    expect(out).toMatch(/\s30\s+IN\s+A\s+192\.0\.2\.87/);
    expect(out).toMatch(/EDE: 3 \(Stale Answer\)/);
    await new Promise((r) => setTimeout(r, 2200)); // the refresh lands
    const queries = f.queries.length;
    expect(await dig('127.0.0.1', port, 'slow-refresh.example.test')).toMatch(/\s(59|60)\s+IN\s+A\s+192\.0\.2\.88/);
    expect(f.queries.length).toBe(queries);
  });
});
