// Workers= (app/workers.ts) with real threads and real sockets. In-process: the main thread's App
// and a WorkerGroup running the built worker (dist/app/worker-thread.js, which `npm test` builds
// first) on one loopback port with SO_REUSEPORT; the kernel spreads the test's queries, each
// from a fresh socket (a new source port), over the workers. Then the binary with --workers 2,
// driven as an operator does: queries, statistics --json, SIGHUP.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { HUNG_AFTER, WorkerGroup } from '../../src/app/workers.js';
import type { Config } from '../../src/config/types.js';
import { InstanceControl } from '../../src/control/api.js';
import { createNativeSocketFactory } from '../../src/net/native-factory.js';
import { a, decode, query, replyTo } from '../helpers/dns-packets.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, testConfig, udpAsk } from '../helpers/instance.js';
import { REPO_ROOT, RESOLVER_MAIN, pinoMsg, spawnResolver } from '../helpers/process.js';

const ENTRY = join(REPO_ROOT, 'dist/app/worker-thread.js');
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

interface Running {
  readonly app: App;
  readonly group: WorkerGroup;
  readonly api: InstanceControl;
  readonly port: number;
}

/** The main thread's App and `count - 1` worker threads, as cli/commands/run.ts starts them. */
async function startWorkers(count: number, config: (port: number) => Config): Promise<Running> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run the tests with npm test, which builds dist/ first`);
  const port = await freePort('127.0.0.1');
  const log = pino({ level: 'silent' });
  const app = await App.start({
    config: config(port), listenFactory: createNativeSocketFactory(null, { reusePort: true }),
    upstreamFactory: createNativeSocketFactory(null), log,
  });
  cleanups.push(() => app.close());
  const group = await WorkerGroup.start({
    count, log, logFormat: 'json', config: () => app.currentConfig, deviceGone: () => false, waitForAddresses: false,
    activated: [], entry: pathToFileURL(ENTRY),
  });
  app.attachWorkers(group);
  const api = new InstanceControl({ app, log, version: 'test', startedAtMs: Date.now(), endpoints: () => ({ controlSocket: null, metrics: null }) });
  return { app, group, api, port };
}

/** `n` names asked once each, every one from a new source port; returns the answers' addresses. */
async function askMany(port: number, prefix: string, n: number): Promise<(string | null)[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const reply = await udpAsk('127.0.0.1', port, query(`${prefix}${i}.example.test`));
    return reply === null ? null : ((decode(reply).answers?.[0]?.data as string | undefined) ?? null);
  }));
}

/** Queries each worker answered (worker 0 first); polls until every worker runs, for at most 20 s. */
async function perWorker(api: InstanceControl): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const stats = await api.statistics();
    if (stats.workers!.every((w) => w.state === 'running')) return stats.workers!.map((w) => w.counters!.queries);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('a worker did not come back within 20 s');
}

describe('Workers= (threads sharing one port with SO_REUSEPORT)', () => {
  it('every worker answers, and statistics sum them and list each', async () => {
    const up = await upstream('192.0.2.1');
    const { api, port } = await startWorkers(2, (p) => testConfig({ listen: [{ family: 4, address: '127.0.0.1', port: p }], upstreams: [ep(up)] }));
    expect(await askMany(port, 'w', 40)).toEqual(Array(40).fill('192.0.2.1'));
    const counts = await perWorker(api);
    // 40 source ports hashed over 2 sockets: each gets some (all on one: a chance of 2^-39).
    expect(counts).toHaveLength(2);
    for (const c of counts) expect(c).toBeGreaterThan(0);
    const stats = await api.statistics();
    expect(stats.counters.queries).toBe(40);
    expect(stats.counters.cacheMisses).toBe(40);
    expect(stats.cache.entries).toBe(40); // each name is in the cache of the worker that was asked
    expect(stats.upstreams[0]!.queries).toBe(40);
    const status = await api.status();
    expect(status.workers!.map((w) => [w.worker, w.state])).toEqual([[0, 'running'], [1, 'running']]);
    // flush-caches empties every worker's cache and counts what it removed.
    expect((await api.flushCaches()).flushed).toBe(40);
    expect((await api.status()).cache.entries).toBe(0);
    await api.resetStatistics();
    expect((await api.statistics()).counters.queries).toBe(0);
  }, 30_000);

  it('a worker that is killed is started again, nothing is lost meanwhile, and its counts stay in the sums', async () => {
    const up = await upstream('192.0.2.1');
    const { api, group, port } = await startWorkers(2, (p) => testConfig({ listen: [{ family: 4, address: '127.0.0.1', port: p }], upstreams: [ep(up)] }));
    expect(await askMany(port, 'k', 40)).toEqual(Array(40).fill('192.0.2.1'));
    await perWorker(api); // also refreshes the counts the group keeps of each worker
    // Kill worker 1's thread as a crash would (terminate() stops its JavaScript wherever it is).
    const slot = (group as unknown as { slots: { worker: Worker | null }[] }).slots[0]!;
    await slot.worker!.terminate();
    // While it is down (or starting again), the kernel gives every query to the sockets that remain.
    expect(await askMany(port, 'd', 20)).toEqual(Array(20).fill('192.0.2.1'));
    await perWorker(api);
    const status = await api.status();
    expect(status.workers![1]).toMatchObject({ worker: 1, state: 'running', restarts: 1 });
    expect(await askMany(port, 'r', 40)).toEqual(Array(40).fill('192.0.2.1'));
    const after = await api.statistics();
    // What worker 1 counted before it died is kept once, beside the new worker's own counts.
    expect(after.counters.queries).toBe(100);
    expect(after.workers![1]!.counters!.queries).toBeGreaterThan(0); // the new worker 1 answers
  }, 40_000);

  it('a hung worker (a loop that never yields) is stopped after HUNG_AFTER unanswered checks and started again', async () => {
    // The group alone, running a stand-in worker that hangs on its first request the first time
    // it runs (test/fixtures/workers/hangs-once.mjs); checks every 200 ms instead of 5 s.
    const dir = mkdtempSync('/tmp/vr-hung-');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    process.env.VR_TEST_HANG_MARKER = join(dir, 'hung');
    cleanups.push(async () => void delete process.env.VR_TEST_HANG_MARKER);
    const errors: Array<{ msg: string; worker?: number; unanswered?: number }> = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line)) });
    const group = await WorkerGroup.start({
      count: 2, log, logFormat: 'json', config: () => testConfig({ listen: [], upstreams: [] }), deviceGone: () => false, waitForAddresses: false,
      activated: [], entry: pathToFileURL(join(REPO_ROOT, 'test/fixtures/workers/hangs-once.mjs')), refreshMs: 200,
    });
    cleanups.push(() => group.close());
    // Each check of the hung worker waits out its 2 s answer time: HUNG_AFTER of them, then the restart.
    const deadline = Date.now() + 20_000;
    let report = (await group.snapshots())[0]!;
    while (report.restarts === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      report = (await group.snapshots())[0]!;
    }
    expect(report).toMatchObject({ worker: 1, restarts: 1 });
    expect(errors.find((e) => e.msg.startsWith('worker is hung'))).toMatchObject({ worker: 1, unanswered: HUNG_AFTER });
    // Started again, it answers.
    while (report.state !== 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      report = (await group.snapshots())[0]!;
    }
    expect(report.state).toBe('running');
  }, 30_000);

  it('a reload reaches every worker', async () => {
    const first = await upstream('192.0.2.1');
    const second = await upstream('192.0.2.2');
    const config = (p: number, u: FakeUpstream) => testConfig({ listen: [{ family: 4, address: '127.0.0.1', port: p }], upstreams: [ep(u)] });
    const { app, group, port } = await startWorkers(3, (p) => config(p, first));
    expect(await askMany(port, 'a', 30)).toEqual(Array(30).fill('192.0.2.1'));
    expect((await app.reload(config(port, second))).applied).toBe(true);
    const workers = await group.snapshots();
    expect(workers).toHaveLength(2);
    for (const w of workers) {
      expect(w.snapshot!.upstreams.map((u) => u.server)).toEqual([`127.0.0.1:${second.port}`]);
      expect(w.snapshot!.cache.entries).toBe(0); // the servers changed: the cache was flushed
    }
    // The same names again: every worker asks the new server.
    expect(await askMany(port, 'a', 30)).toEqual(Array(30).fill('192.0.2.2'));
    expect(second.queries.length).toBe(30);
  }, 30_000);
});

describe('vrf-resolver run --workers 2 (the binary)', () => {
  it('answers on every worker, reports each, and reloads all of them on SIGHUP', async () => {
    const first = await upstream('192.0.2.1');
    const second = await upstream('192.0.2.2');
    const port = await freePort('127.0.0.1');
    const dir = mkdtempSync('/tmp/vr-workers-');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'w.conf');
    const write = (u: FakeUpstream) => writeFileSync(conf, `[Resolve]\nWorkers=2\nListen=127.0.0.1:${port}\nDNS=127.0.0.1:${u.port}\n`);
    write(first);
    const p = spawnResolver(null, ['--config', conf, '--control', join(dir, 'ctl.sock')]);
    cleanups.push(() => p.stop().then(() => undefined));
    await p.waitForLog(pinoMsg('control socket ready'), 20_000);
    expect(p.lines.filter(pinoMsg('worker ready', { worker: 1 }))).toHaveLength(1);
    expect(await askMany(port, 'b', 40)).toEqual(Array(40).fill('192.0.2.1'));
    const stats = async () => {
      return JSON.parse(execFileSync(RESOLVER_MAIN, ['statistics', '--json', '--control', join(dir, 'ctl.sock')], { encoding: 'utf8' })) as {
        counters: { queries: number }; workers: { worker: number; counters: { queries: number } }[];
      };
    };
    const s = await stats();
    expect(s.counters.queries).toBe(40);
    expect(s.workers.map((w) => w.worker)).toEqual([0, 1]);
    for (const w of s.workers) expect(w.counters.queries).toBeGreaterThan(0);
    write(second);
    p.child.kill('SIGHUP');
    await p.waitForLog(pinoMsg('configuration reloaded'), 15_000);
    expect(await askMany(port, 'b', 40)).toEqual(Array(40).fill('192.0.2.2'));
    expect(second.queries.length).toBe(40);
  }, 60_000);
});
