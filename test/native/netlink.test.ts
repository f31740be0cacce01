// The netlink watcher on the real kernel: the native socket (native/src/netlink.cc) and the
// DeviceWatcher (src/net/device-watch.ts) follow a veth that this file creates, deletes and
// creates again, inside a network namespace of its own (nlw<pid>), always deleted at the end.
// Nothing outside that namespace is touched.
//
// The code under test runs in a child `node` started with `ip netns exec` (setns cannot move
// this process): test/helpers/watch-device.mjs, on the modules transpiled into
// build/test-netlink-<pid>/ (inside the package, so binding.ts finds the addon). It answers
// JSON lines; the devices are changed from here with `ip -n`.
// Also here, in the same child: no fd left after 50 watchers, sockets dropped without close()
// are closed by the garbage collector or with a Worker thread that ends, close() inside
// onData, and an exception in onData.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/native/binding.js';

const PID = process.pid;
const NS = `nlw${PID}`;
const DEV = 'nlw0'; // the watched device, a veth with its peer nlw0p
const ROOT = packageRoot();
const WORK = join(ROOT, 'build', `test-netlink-${PID}`);
const HELPER = join(ROOT, 'test', 'helpers', 'watch-device.mjs');
const WAIT_MS = 10_000;

// Deleting a device waits for an RCU grace period: a batch of them takes seconds, more on a
// loaded machine, hence the generous bounds (no timing is asserted).
const sh = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { encoding: 'utf8', timeout: 60_000, input, stdio: ['pipe', 'pipe', 'pipe'] });
const ipn = (...args: string[]): string => sh('ip', ['-n', NS, ...args]);
const batch = (lines: string[]): string => sh('ip', ['-n', NS, '-batch', '-'], `${lines.join('\n')}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The device's ifindex as `ip` sees it, or null. */
function ifindexOf(name: string): number | null {
  try {
    const [l] = JSON.parse(ipn('-j', 'link', 'show', 'dev', name)) as Array<{ ifindex: number }>;
    return l?.ifindex ?? null;
  } catch {
    return null;
  }
}

interface State {
  name: string;
  ifindex: number | null;
  up: boolean;
  kind: string | null;
  addresses: string[];
}
type Change = { type: 'appeared' | 'gone'; ifindex: number } | { type: 'address-added' | 'address-removed'; address: string } | { type: 'resynced' };
type Line = {
  started?: State;
  state?: State;
  change?: Change;
  nativeError?: Record<string, unknown>;
  log?: string;
  churn?: { before: number; after: number };
  gc?: { before: number; opened: number; after: number; rounds: number };
  contract?: Record<string, unknown>;
  worker?: { before: number; after: number };
  blocked?: boolean;
  unblocked?: boolean;
  error?: Record<string, unknown>;
};

/** The child and what it printed; `next` waits (bounded) for a line we have not consumed yet. */
class Child {
  readonly lines: Line[] = [];
  private read = 0;
  private stderr = '';
  private constructor(readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buf.slice(0, nl)) as Line);
        buf = buf.slice(nl + 1);
      }
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  static start(): Child {
    const proc = spawn('ip', ['netns', 'exec', NS, process.execPath, '--expose-gc', HELPER, WORK], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(proc);
    return new Child(proc);
  }

  send(cmd: object): void {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The next unread line for which pick() is defined; the lines before it are consumed too. */
  async next<T>(pick: (l: Line) => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      while (this.read < this.lines.length) {
        const v = pick(this.lines[this.read++] as Line);
        if (v !== undefined) return v;
      }
      if (Date.now() > until || this.proc.exitCode !== null) {
        throw new Error(`no ${what} from the child within ${ms} ms; it printed ${JSON.stringify(this.lines.slice(-10))}; stderr: ${this.stderr}`);
      }
      await sleep(20);
    }
  }

  /** The next change of this type (the changes before it are consumed). */
  change(type: Change['type']): Promise<Change> {
    return this.next((l) => (l.change?.type === type ? l.change : undefined), `a change '${type}'`);
  }

  /** The watcher's state now (change lines carry a state too: they are not the answer). */
  current(): Promise<State> {
    this.send({ op: 'state' });
    return this.next((l) => (l.change ? undefined : l.state), 'state');
  }

  /** Asks for the state until it has the ifindex `ip` reports (bounded). */
  async settled(): Promise<State> {
    const until = Date.now() + WAIT_MS;
    for (;;) {
      const s = await this.current();
      if (s.ifindex === ifindexOf(DEV)) return s;
      if (Date.now() > until) {
        throw new Error(`the state did not follow the kernel (${ifindexOf(DEV)}): ${JSON.stringify(s)}; lines: ${JSON.stringify(this.lines.slice(-30).map((l) => l.change ?? l))}`);
      }
      await sleep(50);
    }
  }

  changesSoFar(): Change[] {
    return this.lines.flatMap((l) => (l.change ? [l.change] : []));
  }
}

const children: ChildProcess[] = [];

/** Throws the child's error line, so a failure there shows at once instead of as a timeout. */
function failed(l: Line): undefined {
  if (l.error) throw new Error(`the child failed: ${JSON.stringify(l.error)}`);
  return undefined;
}

/** Namespaces of this file left by runs whose process is gone (a killed worker). */
function removeStale(): void {
  for (const line of sh('ip', ['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^nlw(\d+)$/.exec(name);
    if (m && !existsSync(`/proc/${m[1]}`)) deleteNamespace(name);
  }
}

function deleteNamespace(name: string): void {
  try {
    sh('ip', ['netns', 'del', name]); // takes the devices inside with it
  } catch {
    // not there
  }
}

function transpile(): void {
  for (const rel of ['errors.ts', 'clock.ts', 'native/binding.ts', 'net/netlink.ts', 'net/sockaddr.ts', 'net/device-watch.ts']) {
    const outText = ts.transpileModule(readFileSync(join(ROOT, 'src', rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = join(WORK, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, outText);
  }
}

function cleanup(): void {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  deleteNamespace(NS);
  rmSync(WORK, { recursive: true, force: true });
}

let child: Child;

beforeAll(async () => {
  process.once('exit', cleanup); // a crashed run still removes what it made
  try {
    removeStale();
    transpile();
    sh('ip', ['netns', 'add', NS]);
    ipn('link', 'set', 'lo', 'up');
    child = Child.start();
    child.send({ op: 'watch', device: DEV });
    const started = await child.next((l) => failed(l) ?? l.started, 'started');
    expect(started).toEqual({ name: DEV, ifindex: null, up: false, kind: null, addresses: [] });
  } catch (e) {
    cleanup();
    throw e;
  }
}, 30_000);

afterAll(async () => {
  child?.send({ op: 'exit' });
  for (let i = 0; i < 50 && child?.proc.exitCode === null; i++) await sleep(20);
  cleanup();
  process.off('exit', cleanup);
});

describe('DeviceWatcher on the kernel (one device followed by name)', () => {
  let first = 0;

  it('a device that did not exist is created: appeared, with the ifindex ip reports', async () => {
    ipn('link', 'add', DEV, 'type', 'veth', 'peer', 'name', `${DEV}p`);
    const c = await child.change('appeared');
    first = ifindexOf(DEV) ?? -1;
    expect(c).toEqual({ type: 'appeared', ifindex: first });
    expect(await child.settled()).toEqual({ name: DEV, ifindex: first, up: false, kind: 'veth', addresses: [] });
  });

  it('an address added: address-added; up is followed without a change', async () => {
    ipn('addr', 'add', '127.0.0.1/8', 'dev', DEV);
    expect(await child.change('address-added')).toEqual({ type: 'address-added', address: '127.0.0.1' });
    ipn('-6', 'addr', 'add', 'fd00::53/128', 'dev', DEV, 'nodad');
    expect(await child.change('address-added')).toEqual({ type: 'address-added', address: 'fd00::53' });
    ipn('link', 'set', DEV, 'up');
    for (let i = 0; i < 100 && !(await child.current()).up; i++) await sleep(20);
    expect(await child.current()).toMatchObject({ up: true, addresses: ['127.0.0.1', 'fd00::53'] });
  });

  it('deleted: the addresses go first (the kernel removes them before RTM_DELLINK), then gone', async () => {
    const before = child.changesSoFar().length;
    ipn('link', 'del', DEV);
    expect(await child.change('gone')).toEqual({ type: 'gone', ifindex: first });
    expect(child.changesSoFar().slice(before).map((c) => c.type)).toEqual(['address-removed', 'address-removed', 'gone']);
    expect(await child.settled()).toEqual({ name: DEV, ifindex: null, up: false, kind: null, addresses: [] });
  });

  it('created again: appeared with a new ifindex', async () => {
    ipn('link', 'add', DEV, 'type', 'veth', 'peer', 'name', `${DEV}p`);
    const c = await child.change('appeared');
    expect(c).toEqual({ type: 'appeared', ifindex: ifindexOf(DEV) });
    expect(c.type === 'appeared' && c.ifindex).not.toBe(first);
  });

  it('deleted and created 20 times in a row: the changes alternate and the final state is right', async () => {
    const before = child.changesSoFar().length;
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) lines.push(`link del ${DEV}`, `link add ${DEV} type veth peer name ${DEV}p`, `addr add 127.0.0.1/8 dev ${DEV}`);
    batch(lines);
    const final = ifindexOf(DEV);
    const s = await child.settled();
    expect(s).toMatchObject({ ifindex: final, kind: 'veth' });
    for (let i = 0; i < 100 && (await child.current()).addresses.length === 0; i++) await sleep(20); // the address trails the link
    expect(await child.current()).toMatchObject({ ifindex: final, addresses: ['127.0.0.1'] });
    const presence = child.changesSoFar().slice(before).filter((c) => c.type === 'gone' || c.type === 'appeared');
    expect(presence.length).toBeGreaterThanOrEqual(2);
    presence.forEach((c, i) => expect(c.type).toBe(i % 2 === 0 ? 'gone' : 'appeared'));
    expect(presence.at(-1)).toEqual({ type: 'appeared', ifindex: final });
  }, 90_000);

  it('events lost while the loop is blocked (ENOBUFS): a resync finds the device re-created', async () => {
    ipn('link', 'add', 'nlwq', 'type', 'veth', 'peer', 'name', 'nlwqp');
    const old = ifindexOf(DEV);
    const flag = join(WORK, 'unblock');
    child.send({ op: 'block', flag });
    await child.next((l) => l.blocked, 'blocked');
    // Far more events than the receive buffer holds (1 MiB, doubled by the kernel; an
    // RTM_NEWLINK costs about 2.3 KiB of it) while nobody reads; the watched device is
    // replaced in the middle of them.
    const flood: string[] = [];
    for (let i = 0; i < 1500; i++) flood.push(`link set nlwq mtu ${1280 + (i % 100)}`);
    flood.push(`link del ${DEV}`, `link add ${DEV} type veth peer name ${DEV}p`, `addr add 10.53.0.1/24 dev ${DEV}`);
    for (let i = 0; i < 1500; i++) flood.push(`link set nlwq mtu ${1280 + (i % 100)}`);
    batch(flood);
    writeFileSync(flag, '');
    await child.next((l) => l.unblocked, 'unblocked');
    const err = await child.next((l) => l.nativeError, 'an ENOBUFS from the socket');
    expect(err).toMatchObject({ code: 'ENOBUFS', errno: -105, syscall: 'recv' });
    expect(await child.change('resynced')).toEqual({ type: 'resynced' });
    const now = ifindexOf(DEV);
    expect(now).not.toBe(old);
    expect(await child.settled()).toMatchObject({ ifindex: now, addresses: ['10.53.0.1'] });
    // Whatever the socket lost, the changes since the block end with the new device.
    const presence = child.changesSoFar().filter((c) => c.type === 'gone' || c.type === 'appeared');
    expect(presence.at(-1)).toEqual({ type: 'appeared', ifindex: now });
    // And the socket goes on after the error: a plain event still arrives.
    ipn('addr', 'add', '127.0.0.1/8', 'dev', DEV);
    expect(await child.change('address-added')).toEqual({ type: 'address-added', address: '127.0.0.1' });
  }, 60_000);

  it('no fd is left after 50 watchers opened, started and closed (twice)', async () => {
    child.send({ op: 'churn', device: DEV, n: 50 });
    const r = await child.next((l) => failed(l) ?? l.churn, 'churn', 30_000);
    expect(r.after).toBe(r.before);
  }, 40_000);

  it('sockets dropped without close() are closed when they are garbage-collected', async () => {
    child.send({ op: 'gc', n: 20 });
    const r = await child.next((l) => l.gc, 'gc', 20_000);
    expect(r.opened).toBe(r.before + 20);
    expect(r.after).toBe(r.before);
  }, 30_000);

  it('sockets still open when a Worker thread is terminated or exits are closed with it', async () => {
    child.send({ op: 'worker' });
    const r = await child.next((l) => failed(l) ?? l.worker, 'worker', 20_000);
    expect(r.after).toBe(r.before);
  }, 30_000);

  it('close() inside onData, an exception thrown by onData, dump() after close, bad arguments', async () => {
    child.send({ op: 'contract' });
    const r = await child.next((l) => l.contract, 'contract');
    expect(r.closeInside).toEqual({ calls: 1 });
    expect(r.throwing).toEqual({ uncaught: ['thrown by onData'], batches: 2 });
    expect(r.dumpAfterClose).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'sendto' });
    expect(r.notFunction).toMatchObject({ name: 'TypeError', message: 'netlinkOpen: onData must be a function' });
    expect(r.badWhat).toMatchObject({ name: 'TypeError', message: "dump: what must be 'link' or 'addr'" });
    expect(r.detached).toMatchObject({ name: 'TypeError' });
  });
});
