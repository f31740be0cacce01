// ServerSelection=rtt with real sockets: two scripted upstreams, the first listed answering
// 80 ms late. With rtt the instance soon asks the fast one first; with ordered it keeps asking
// the slow first one (both answer, so neither ever fails).
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, startInstance, testConfig, udpAsk } from '../helpers/instance.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function upstreams(): Promise<[FakeUpstream, FakeUpstream]> {
  const answer = (q: Buffer) => replyTo(q, { answers: [a(decode(q).questions![0]!.name, '192.0.2.1')] });
  const slow = await startFakeUpstream((q, _t, r) => setTimeout(() => r.reply(answer(q)), 80));
  const fast = await startFakeUpstream((q, _t, r) => r.reply(answer(q)));
  cleanups.push(() => slow.close(), () => fast.close());
  return [slow, fast];
}

async function run(serverSelection: 'ordered' | 'rtt') {
  const [slow, fast] = await upstreams();
  const port = await freePort('127.0.0.1');
  const app = await startInstance(testConfig({
    listen: [{ family: 4, address: '127.0.0.1', port }],
    upstreams: [slow, fast].map((u) => ({ family: 4 as const, address: u.address, port: u.port })),
    serverSelection,
  }));
  cleanups.push(() => app.close());
  for (let i = 0; i < 30; i++) await udpAsk('127.0.0.1', port, query(`n${i}.example.test`));
  return { slow: slow.queries.length, fast: fast.queries.length };
}

describe('ServerSelection with a deliberately slow upstream', () => {
  it('rtt: after measuring both, the fast server gets nearly every question', async () => {
    const { slow, fast } = await run('rtt');
    expect(slow + fast).toBeGreaterThanOrEqual(30);
    expect(fast).toBeGreaterThanOrEqual(27);
    expect(slow).toBeLessThanOrEqual(3); // the first question (to measure it) and a probe (1 in 20)
  });

  it('ordered: the first listed server gets every question, slow or not', async () => {
    const { slow, fast } = await run('ordered');
    expect(slow).toBe(30);
    expect(fast).toBe(0);
  });
});
