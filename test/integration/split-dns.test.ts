// Split DNS (Forward=) in-process with real sockets: two scripted upstreams answer the same
// names differently; the longest matching domain picks the server, everything else goes to
// DNS=, and each route's answers are cached apart. The per-domain device (ADDR%DEVICE) is in
// device-binding.test.ts, with the real binary in namespaces.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import type { ForwardRoute } from '../../src/config/types.js';
import { InstanceControl } from '../../src/control/api.js';
import pino from 'pino';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function upstream(ip: string): Promise<FakeUpstream> {
  const u = await startFakeUpstream((q, _t, r) => r.reply(replyTo(q, { answers: [a(decode(q).questions![0]!.name, ip)] })));
  cleanups.push(() => u.close());
  return u;
}
const ep = (u: FakeUpstream) => ({ family: 4 as const, address: u.address, port: u.port });

describe('Forward= (split DNS)', () => {
  it('the longest matching domain picks the servers; other names go to DNS=', async () => {
    const general = await upstream('192.0.2.1');
    const corp = await upstream('192.0.2.2');
    const lab = await upstream('192.0.2.3');
    const routes: ForwardRoute[] = [
      { domain: 'corp.example', servers: [ep(corp)] },
      { domain: 'lab.corp.example', servers: [ep(lab)] },
    ];
    const port = await freePort('127.0.0.1');
    const base = testConfig({ listen: [{ family: 4, address: '127.0.0.1', port }], upstreams: [ep(general)] });
    const app = await startInstance({ ...base, upstream: { ...base.upstream, routes } });
    cleanups.push(() => app.close());
    const ask = async (name: string) => decode((await udpAsk('127.0.0.1', port, query(name)))!).answers![0]?.data;
    expect(await ask('www.corp.example')).toBe('192.0.2.2');
    expect(await ask('CORP.example')).toBe('192.0.2.2'); // the domain itself, any case
    expect(await ask('db.lab.corp.example')).toBe('192.0.2.3'); // the longer route wins
    expect(await ask('www.example.test')).toBe('192.0.2.1');
    expect(await ask('notcorp.example')).toBe('192.0.2.1'); // a label boundary, not a string suffix
    expect(await ask('www.corp.example')).toBe('192.0.2.2'); // from the cache now
    expect([general, corp, lab].map((u) => u.queries.length)).toEqual([2, 2, 1]);
    // status: each domain's servers, longest first; their health is among the upstreams.
    const status = await new InstanceControl({ app, log: pino({ level: 'silent' }), version: 'test', startedAtMs: Date.now(),
      endpoints: () => ({ controlSocket: null, metrics: null }) }).status();
    expect(status.routes).toEqual([
      { domain: 'lab.corp.example', servers: [`127.0.0.1:${lab.port}`] },
      { domain: 'corp.example', servers: [`127.0.0.1:${corp.port}`] },
    ]);
    expect(status.upstreams.map((u) => [u.server, u.queries])).toEqual([
      [`127.0.0.1:${general.port}`, 2], [`127.0.0.1:${corp.port}`, 2], [`127.0.0.1:${lab.port}`, 1],
    ]);
  });
});
