// ResolvConf=FILE followed while the resolver runs (src/app/upstream-file.ts), on the real
// binary in a network namespace: two dnsmasq upstreams that answer every name under
// example.test differently (A: 192.0.2.1 on 127.0.0.2, B: 192.0.2.2 on 127.0.0.3), the resolver
// on 127.0.0.1:53 started with --resolv-conf naming A. The file is changed the ways a DHCP hook,
// an editor or an accident does: atomic rename, in-place write, the same servers rewritten,
// deletion, garbage, binary, a huge file, a directory in its place; and a query loop runs
// through a switch. Upstream query logs (dnsmasq) and `statistics --json` prove cache hits.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, digQuery } from '../helpers/dig.js';
import { startDnsmasq, type UpstreamServer } from '../helpers/dnsmasq.js';
import { waitFor } from '../helpers/exec.js';
import { Netns, cleanupStale } from '../helpers/netns.js';
import { REPO_ROOT, RESOLVER_MAIN, pinoMsg, spawnManaged, spawnResolver, type LogLine, type ManagedProcess } from '../helpers/process.js';
import type { StatisticsReport } from '../../src/control/types.js';

const A = { server: '127.0.0.2', answer: '192.0.2.1' };
const B = { server: '127.0.0.3', answer: '192.0.2.2' };
const CHANGED = 'the upstream servers in the ResolvConf file changed';
const UNUSABLE = 'the ResolvConf file is not usable';

let ns: Netns;
let upA: UpstreamServer;
let upB: UpstreamServer;
let proc: ManagedProcess;
let dir: string;
let file: string;
let sock: string;
let n = 0;

const resolvText = (...servers: string[]): string => `# written by a test hook\nsearch example.net\n${servers.map((s) => `nameserver ${s}`).join('\n')}\n`;
const atomic = (text: string | Buffer): void => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};
/** A name never asked before: its answer comes from an upstream, not the cache. */
const fresh = (tag: string): string => `${tag}-${++n}.example.test`;

async function ask(name: string): Promise<string[]> {
  const r = await digQuery(ns, '127.0.0.1', name);
  expect(r.status, r.stdout + r.stderr).toBe('NOERROR');
  return answers(r, 'A');
}

/** The next log line from now on that matches. */
function nextLog(pred: (l: LogLine) => boolean, timeoutMs = 10_000): { from: number; line: Promise<LogLine> } {
  const from = proc.lines.length;
  return { from, line: proc.waitForLog((l) => pred(l) && proc.lines.indexOf(l) >= from, timeoutMs) };
}

/** Polls fresh names (bounded) until one is answered with `answer`. */
async function answeredBy(answer: string): Promise<void> {
  await waitFor(`a fresh name answered with ${answer}`, async () => ((await ask(fresh('poll')))[0] === answer ? true : undefined), 5_000, 50);
}

async function statistics(): Promise<StatisticsReport> {
  const r = await ns.exec(RESOLVER_MAIN, ['statistics', '--json', '--control', sock], { timeoutMs: 15_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatisticsReport;
}

beforeAll(async () => {
  await cleanupStale();
  ns = await Netns.create('rw');
  dir = ns.makeTempDir('run');
  file = join(dir, 'mgmt.resolv');
  sock = join(dir, 'rw.sock');
  // --address: every name under the zone, so each fresh name has an answer telling who gave it.
  upA = await startDnsmasq(ns, { listen: [A.server], extraArgs: [`--address=/example.test/${A.answer}`] });
  upB = await startDnsmasq(ns, { listen: [B.server], extraArgs: [`--address=/example.test/${B.answer}`] });
  writeFileSync(file, resolvText(A.server));
  proc = spawnResolver(ns, ['--listen', '127.0.0.1', '--resolv-conf', file, '--control', sock, '--log-level', 'debug']);
  await proc.waitForLog(pinoMsg('control socket ready'), 15_000);
  await proc.waitForLog(pinoMsg('following the ResolvConf file', { file }), 5_000);
}, 60_000);

afterAll(async () => {
  await proc?.stop().catch(() => undefined);
  await upA?.stop().catch(() => undefined);
  await upB?.stop().catch(() => undefined);
  await ns?.destroy();
}, 30_000);

describe('ResolvConf=FILE is followed: a changed server list applies without a restart', () => {
  it('at start the servers of the file answer', async () => {
    expect(await ask(fresh('start'))).toEqual([A.answer]);
  });

  it('an atomic rename naming B: logged with the old and new lists, and a new name is answered by B', async () => {
    const changed = nextLog(pinoMsg(CHANGED));
    const reloaded = nextLog(pinoMsg('configuration reloaded'));
    atomic(resolvText(B.server));
    expect((await changed.line).json).toMatchObject({ level: 'info', trigger: 'ResolvConf changed', file, old: ['127.0.0.2:53'], new: ['127.0.0.3:53'] });
    expect((await reloaded.line).json).toMatchObject({ changed: ['upstream.servers'], cache: 'flushed: the upstream servers changed' });
    await answeredBy(B.answer);
  });

  it('an in-place write (truncate, then write) is seen too', async () => {
    const changed = nextLog(pinoMsg(CHANGED));
    writeFileSync(file, resolvText(A.server));
    expect((await changed.line).json).toMatchObject({ old: ['127.0.0.3:53'], new: ['127.0.0.2:53'] });
    await answeredBy(A.answer);
  });

  it('the same servers rewritten (comments changed): nothing reloads, a cached name is still answered from the cache', async () => {
    const name = fresh('kept');
    expect(await ask(name)).toEqual([A.answer]);
    await upA.waitForQueries(1, name);
    const before = await statistics();
    const same = nextLog(pinoMsg('the upstream servers are the same', { file }));
    atomic(`# lease renewed\n${resolvText(A.server)}; nothing else changed\n`);
    await same.line;
    expect(proc.lines.slice(same.from).some((l) => pinoMsg('configuration reloaded')(l))).toBe(false);
    expect(await ask(name)).toEqual([A.answer]);
    const after = await statistics();
    expect(after.counters.cacheHits - before.counters.cacheHits).toBe(1);
    expect(upA.queryCount(name)).toBe(1);
    expect(upB.queryCount(name)).toBe(0);
  });

  it('the same servers in another order: reloaded (the preference changed), the cache is kept', async () => {
    const both = nextLog(pinoMsg('configuration reloaded'));
    atomic(resolvText(A.server, B.server));
    expect((await both.line).json).toMatchObject({ cache: 'flushed: the upstream servers changed' });
    const name = fresh('order');
    const first = await ask(name);
    const reordered = nextLog(pinoMsg('configuration reloaded'));
    const changed = nextLog(pinoMsg(CHANGED));
    atomic(resolvText(B.server, A.server));
    expect((await changed.line).json).toMatchObject({ old: ['127.0.0.2:53', '127.0.0.3:53'], new: ['127.0.0.3:53', '127.0.0.2:53'] });
    expect((await reordered.line).json).toMatchObject({ changed: ['upstream.servers'], cache: 'kept' });
    const asked = upA.queryCount(name) + upB.queryCount(name);
    expect(asked).toBe(1);
    expect(await ask(name)).toEqual(first); // from the cache: no upstream saw it again
    expect(upA.queryCount(name) + upB.queryCount(name)).toBe(asked);
    await answeredBy(B.answer); // B is preferred now
  });

  it('deleted: one warn line naming the file and why, the old list keeps serving', async () => {
    const warn = nextLog(pinoMsg(UNUSABLE));
    rmSync(file);
    expect((await warn.line).json).toMatchObject({ level: 'warn', file, why: `cannot read ${file}: no such file`, upstreams: ['127.0.0.3:53', '127.0.0.2:53'] });
    expect(await ask(fresh('deleted'))).toEqual([B.answer]);
  });

  it('garbage, binary, a 10 MB file, a directory in its place: a warn line each, the old list keeps serving', async () => {
    const cases: Array<[() => void, RegExp]> = [
      [() => atomic('this is not a resolv.conf\n'), /no nameserver lines/],
      [() => atomic('nameserver 192.0.2.53 192.0.2.54\n'), /one address per nameserver line/],
      [() => atomic(Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256))), /nameserver|no nameserver lines/],
      [() => atomic(Buffer.alloc(10 * 1024 * 1024, 'nameserver x\n')), /more than 65536/],
      [() => {
        rmSync(file, { force: true });
        mkdirSync(file);
      }, /is a directory/],
    ];
    for (const [act, why] of cases) {
      const warn = nextLog(pinoMsg(UNUSABLE));
      act();
      expect(String((await warn.line).json?.['why'])).toMatch(why);
      expect(await ask(fresh('garbage'))).toEqual([B.answer]);
    }
    rmSync(file, { recursive: true });
    expect(proc.exitInfo).toBeUndefined();
  });

  it('restored: applied again', async () => {
    const changed = nextLog(pinoMsg(CHANGED));
    atomic(resolvText(A.server));
    expect((await changed.line).json).toMatchObject({ old: ['127.0.0.3:53', '127.0.0.2:53'], new: ['127.0.0.2:53'] });
    await answeredBy(A.answer);
  });

  it('after a SIGHUP reload the file is still followed (file changes and SIGHUPs share one queue)', async () => {
    const hup = nextLog(pinoMsg('configuration reloaded, nothing changed'));
    proc.child.kill('SIGHUP');
    await hup.line;
    const toB = nextLog(pinoMsg(CHANGED));
    atomic(resolvText(B.server));
    expect((await toB.line).json).toMatchObject({ new: ['127.0.0.3:53'] });
    // A SIGHUP and a change at once run one after the other: whichever reads the file first
    // applies it, and the file's check then finds the servers the same (or applies them itself).
    const settled = nextLog((l) => pinoMsg(CHANGED)(l) || pinoMsg('the upstream servers are the same')(l));
    proc.child.kill('SIGHUP');
    atomic(resolvText(A.server));
    await settled.line;
    await answeredBy(A.answer);
  });

  it('queries sent one after another through a switch: every one answered NOERROR, A until the switch, B after it', async () => {
    // One query at a time over UDP, each a fresh name, 3 s to answer. A lost or failed query is
    // printed as such. A query in flight when the pipeline is swapped finishes on the old one,
    // so the answers are some A's, then only B's.
    const loop = spawnManaged(ns, process.execPath, ['-e', LOOP_JS, `${REPO_ROOT}package.json`, `loop${n}`, '5000'], { label: 'query-loop' });
    const results = (): Array<{ i: number; rcode?: string; a?: string | null; lost?: boolean }> =>
      loop.lines.filter((l) => l.json !== undefined).map((l) => l.json as { i: number });
    try {
      await waitFor('20 answers before the switch', () => (results().length >= 20 ? true : undefined), 10_000);
      const reloaded = nextLog(pinoMsg('configuration reloaded'));
      atomic(resolvText(B.server));
      await reloaded.line;
      const at = results().length;
      await waitFor('20 answers after the switch', () => (results().length >= at + 20 ? true : undefined), 10_000);
    } finally {
      await loop.stop();
    }
    const all = results();
    expect(all.filter((r) => r.lost === true || r.rcode !== 'NOERROR')).toEqual([]);
    expect(all.map((r) => r.i)).toEqual(all.map((_, i) => i)); // none skipped
    const seq = all.map((r) => (r.a === A.answer ? 'A' : r.a === B.answer ? 'B' : `? ${String(r.a)}`)).join('');
    expect(seq).toMatch(/^A{20,}B{20,}$/);
  });

  it('ran without an error line, and stops cleanly', async () => {
    expect(proc.lines.filter((l) => l.json?.['level'] === 'error' || l.json?.['level'] === 'fatal').map((l) => l.text)).toEqual([]);
    expect((await proc.stop()).code).toBe(0);
  });
});

// argv: <package.json of the repo (to find dns-packet)> <name prefix> <max queries>.
// Prints one JSON line per query: {i, rcode, a} or {i, lost: true}.
const LOOP_JS = `
const dgram = require('node:dgram');
const packet = require('node:module').createRequire(process.argv[1])('dns-packet');
const prefix = process.argv[2];
const max = Number(process.argv[3]);
const s = dgram.createSocket('udp4');
let i = 0;
let pending = null;
s.on('message', (m) => {
  let r;
  try { r = packet.decode(m); } catch { return; }
  if (pending === null || r.id !== pending.id) return;
  clearTimeout(pending.timer);
  const a = (r.answers || []).find((x) => x.type === 'A');
  console.log(JSON.stringify({ i: pending.i, rcode: r.rcode, a: a ? a.data : null }));
  pending = null;
  next();
});
function next() {
  if (i >= max) return s.close();
  const id = (i % 65000) + 1;
  const q = packet.encode({ id, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name: prefix + '-' + i + '.example.test', type: 'A', class: 'IN' }] });
  pending = { i, id, timer: setTimeout(() => { console.log(JSON.stringify({ i: pending.i, lost: true })); pending = null; next(); }, 3000) };
  i++;
  s.send(q, 53, '127.0.0.1');
}
next();
`;
