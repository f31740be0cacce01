// SIGHUP on the real process: the config file is read again; an unchanged config keeps the
// cache, other upstreams flush it, Listen= changes open and close listeners, and a broken
// config (or another VRF) is refused with a clear log line while the old one keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/instance.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { pinoMsg, spawnResolver, type ManagedProcess } from '../helpers/process.js';
import { configFile, udpAsk, waitForLogAfter } from './systemd-helpers.js';

let upA: FakeUpstream;
let upB: FakeUpstream;
let proc: ManagedProcess;
let conf: ReturnType<typeof configFile>;
let port1: number;
let port2: number;

const answering = (ip: string) => (q: Buffer, _t: 'udp' | 'tcp', r: { reply(m: Buffer): void }) =>
  r.reply(replyTo(q, { answers: [a(decode(q).questions![0]!.name, ip, 300)] }));
const lines = (dns: FakeUpstream, ...listen: number[]) => [
  '[Resolve]', `Listen=${listen.map((p) => `127.0.0.1:${p}`).join(' ')}`, `DNS=127.0.0.1:${dns.port}`, 'LogLevel=info',
];

async function ask(port: number, name: string): Promise<string | null> {
  const r = await udpAsk('127.0.0.1', port, query(name));
  return r === null ? null : String(decode(r).answers?.[0]?.data ?? decode(r).rcode);
}

/** SIGHUP, then the next log line with this message. */
async function hup(msg: string): Promise<Record<string, unknown>> {
  const from = proc.lines.length;
  proc.child.kill('SIGHUP');
  const l = await waitForLogAfter(proc, from, pinoMsg(msg));
  return l.json!;
}

beforeAll(async () => {
  upA = await startFakeUpstream(answering('192.0.2.1'));
  upB = await startFakeUpstream(answering('192.0.2.2'));
  port1 = await freePort();
  port2 = await freePort();
  conf = configFile(lines(upA, port1));
  proc = spawnResolver(null, ['--config', conf.path]);
  await proc.waitForLog(pinoMsg('ready'));
});

afterAll(async () => {
  await proc?.stop();
  await upA?.close();
  await upB?.close();
  conf?.remove();
});

describe('reload on SIGHUP', () => {
  it('an unchanged config keeps the cache: a repeated question does not go upstream', async () => {
    expect(await ask(port1, 'kept.example.test')).toBe('192.0.2.1');
    expect(upA.queries).toHaveLength(1);
    const r = await hup('configuration reloaded');
    expect(r).toMatchObject({ msg: 'configuration reloaded, nothing changed', changed: [], cache: 'kept', cacheEntries: 1 });
    expect(await ask(port1, 'kept.example.test')).toBe('192.0.2.1');
    expect(upA.queries).toHaveLength(1);
  });

  it('other upstreams flush the cache and are used at once', async () => {
    conf.rewrite(lines(upB, port1));
    const r = await hup('configuration reloaded');
    expect(r).toMatchObject({ changed: ['upstream.servers'], cache: 'flushed: the upstream servers changed', cacheEntries: 0 });
    expect(await ask(port1, 'kept.example.test')).toBe('192.0.2.2');
    expect(upB.queries).toHaveLength(1);
  });

  it('Listen= changes open the new listener and close the old one; the cache stays', async () => {
    conf.rewrite(lines(upB, port2));
    const r = await hup('configuration reloaded');
    expect(r).toMatchObject({
      changed: ['server.listen'], cache: 'kept',
      listenersAdded: [`udp+tcp 127.0.0.1:${port2}`], listenersRemoved: [`udp+tcp 127.0.0.1:${port1}`],
      listeners: [`udp 127.0.0.1:${port2}`, `tcp 127.0.0.1:${port2}`],
    });
    expect(await ask(port2, 'kept.example.test')).toBe('192.0.2.2');
    expect(upB.queries).toHaveLength(1); // from the cache kept across the reload
    expect(await ask(port1, 'kept.example.test')).toBeNull();
  });

  it('a broken config is refused with every problem, and the old one keeps serving', async () => {
    conf.rewrite(['[Resolve]', `Listen=127.0.0.1:${port2}`, 'DNS=not-an-address', 'Bogus=1']);
    const r = await hup('reload refused: invalid configuration');
    expect(r).toMatchObject({ level: 'error', code: 'VR_ERR_CONFIG' });
    expect((r['problems'] as string[]).join('\n')).toMatch(/Bogus/);
    expect((r['problems'] as string[]).join('\n')).toMatch(/not-an-address/);
    expect(await ask(port2, 'still.example.test')).toBe('192.0.2.2');
  });

  it('another VRF is refused as a whole (restart needed), nothing changes', async () => {
    const busy = await freePort();
    conf.rewrite([...lines(upA, port2, busy), 'VRF=elsewhere']);
    const r = await hup('reload refused; the old configuration keeps serving');
    expect(String(r['err'])).toMatch(/VRF changed from default to elsewhere: restart/);
    expect(await ask(busy, 'x.example.test')).toBeNull(); // the new listener was not opened
    expect(await ask(port2, 'still2.example.test')).toBe('192.0.2.2'); // and upstreams are still B
  });

  it('a listener that cannot open rolls the whole reload back', async () => {
    const taken = await startFakeUpstream(answering('192.0.2.9')); // holds UDP and TCP on its port
    try {
      conf.rewrite(lines(upA, port2, taken.port));
      const r = await hup('reload refused; the old configuration keeps serving');
      expect(String(r['err'])).toMatch(new RegExp(`127\\.0\\.0\\.1:${taken.port}.*EADDRINUSE`));
      expect(await ask(port2, 'still3.example.test')).toBe('192.0.2.2');
    } finally {
      await taken.close();
    }
  });

  it('stops cleanly afterwards', async () => {
    expect((await proc.stop()).code).toBe(0);
  });
});
