// AllowFrom= and DenyAction= with real clients on a veth (issue: control plane, "who may ask").
// The resolver runs in namespace C and listens on 127.0.0.1 and on C's veth address 10.53.0.1,
// the way a Listen= on a routable address in a VRF would; a client in namespace A asks it from
// 10.53.0.2. Its upstream is dnsmasq in B, reached through devB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, digQuery } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { buildTwinUpstreams, type TwinUpstreams } from '../helpers/netns.js';
import { pinoMsg, spawnResolver, type ManagedProcess } from '../helpers/process.js';

let topo: TwinUpstreams;
let upstream: UpstreamServer;
const running: ManagedProcess[] = [];

beforeAll(async () => {
  topo = await buildTwinUpstreams();
  upstream = await startDnsmasq(topo.b, { listen: [topo.v4.upstream], records: [{ name: 'www.example.test', type: 'A', value: '192.0.2.1' }] });
}, 60_000);

afterAll(async () => {
  for (const r of running) await r.stop().catch(() => undefined);
  await upstream?.stop().catch(() => undefined);
  await topo?.destroy();
}, 60_000);

async function resolver(extra: string[]): Promise<ManagedProcess> {
  const r = spawnResolver(topo.c, [
    '--listen', '127.0.0.1', '--listen', topo.v4.client, '--upstream-device', topo.devB, '--upstream', topo.v4.upstream,
    ...extra,
  ]);
  running.push(r);
  await r.waitForLog(pinoMsg('ready'), 15_000);
  return r;
}
async function stats(r: ManagedProcess): Promise<Record<string, number>> {
  await r.stop();
  return (r.lines.find((l) => l.json?.['msg'] === 'stopped')?.json?.['stats'] ?? {}) as Record<string, number>;
}
const fromA = (extra: string[] = []) => digQuery(topo.a, topo.v4.client, 'www.example.test', 'A', { extra: ['+time=1', ...extra] });

describe('AllowFrom= (default: loopback only)', () => {
  it('by default a client on the veth gets REFUSED, with the question; loopback clients are answered; both counted', async () => {
    const r = await resolver([]);
    const refused = await fromA();
    expect(refused.status).toBe('REFUSED');
    expect(refused.answer).toEqual([]);
    expect((await fromA(['+tcp'])).status).toBe('REFUSED');
    expect(answers(await digQuery(topo.c, '127.0.0.1', 'www.example.test'))).toEqual(['192.0.2.1']);
    const s = await stats(r);
    expect(s).toMatchObject({ denied: 2, queries: 3, refused: 0 });
    expect(upstream.queryCount('www.example.test')).toBe(1); // the refused ones never went upstream
  });

  it('--allow-from the veth network: the client is answered', async () => {
    const r = await resolver(['--allow-from', '10.53.0.0/24', '--allow-from', '127.0.0.0/8']);
    expect(answers(await fromA())).toEqual(['192.0.2.1']);
    expect(answers(await fromA(['+tcp']))).toEqual(['192.0.2.1']);
    expect((await stats(r)).denied).toBe(0);
  });

  it('DenyAction=drop: the client gets nothing at all', async () => {
    const r = spawnResolver(topo.c, [
      '--listen', topo.v4.client, '--upstream-device', topo.devB, '--upstream', topo.v4.upstream,
      '--config', await dropConfig(),
    ]);
    running.push(r);
    await r.waitForLog(pinoMsg('ready'), 15_000);
    const res = await fromA();
    expect(res.ok).toBe(false); // timed out: no reply
    expect((await stats(r)).denied).toBe(1);
  });
});

async function dropConfig(): Promise<string> {
  const { writeFileSync } = await import('node:fs');
  const dir = topo.c.makeTempDir('allow');
  writeFileSync(`${dir}/drop.conf`, '[Resolve]\nDenyAction=drop\n');
  return `${dir}/drop.conf`;
}
