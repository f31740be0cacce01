// The ResolvConf= file followed while the instance runs (src/app/upstream-file.ts,
// src/app/dir-watch.ts): the pure pieces on a manual clock, then the follower on real files in a
// temporary directory with the real loader and real inotify, applying to a stand-in App.
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../src/clock.js';
import { loadConfig, type LoadOptions } from '../../src/config/load.js';
import type { Config, Endpoint } from '../../src/config/types.js';
import { Debouncer, DirWatch, type DirWatchEvents } from '../../src/app/dir-watch.js';
import { MAX_FILE_BYTES, UpstreamFileFollower, readBounded, resolvConfFileOf, sameServers } from '../../src/app/upstream-file.js';
import { testConfig } from '../helpers/instance.js';

const ep = (address: string, port = 53): Endpoint => ({ family: address.includes(':') ? 6 : 4, address, port });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-upstream-file-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Debouncer', () => {
  it('a burst of events is one call, once the burst has been quiet for quietMs', () => {
    const clock = new ManualClock();
    let calls = 0;
    const d = new Debouncer(clock, 100, 1000, () => calls++);
    d.poke();
    clock.advance(60);
    d.poke();
    clock.advance(60);
    d.poke();
    clock.advance(99);
    expect(calls).toBe(0);
    clock.advance(1);
    expect(calls).toBe(1);
    expect(d.pending).toBe(false);
    clock.advance(1000);
    expect(calls).toBe(1);
  });

  it('a file rewritten without pause is still looked at, maxWaitMs after the first event', () => {
    const clock = new ManualClock();
    let calls = 0;
    const d = new Debouncer(clock, 100, 250, () => calls++);
    for (let t = 0; t < 240; t += 50) {
      d.poke();
      clock.advance(50);
    }
    expect(calls).toBe(1); // at 250, though events kept coming every 50 ms
    d.poke();
    clock.advance(100);
    expect(calls).toBe(2);
  });

  it('close() cancels the pending call', () => {
    const clock = new ManualClock();
    let calls = 0;
    const d = new Debouncer(clock, 100, 1000, () => calls++);
    d.poke();
    d.close();
    clock.advance(5000);
    expect(calls).toBe(0);
  });
});

describe('sameServers', () => {
  it('is the same list in the same order; the order is the preference', () => {
    expect(sameServers([ep('192.0.2.1'), ep('2001:db8::1')], [ep('192.0.2.1'), ep('2001:db8:0::1')])).toBe(true);
    expect(sameServers([ep('192.0.2.1'), ep('192.0.2.2')], [ep('192.0.2.2'), ep('192.0.2.1')])).toBe(false);
    expect(sameServers([ep('192.0.2.1')], [ep('192.0.2.1'), ep('192.0.2.2')])).toBe(false);
    expect(sameServers([ep('192.0.2.1')], [ep('192.0.2.1', 5353)])).toBe(false);
    expect(sameServers([], [])).toBe(true);
  });
});

describe('resolvConfFileOf: the ResolvConf= a loaded config was made with', () => {
  const config = (files: string[]): Config => ({ ...testConfig({ listen: [], upstreams: [] }), configFiles: files });

  it('the last ResolvConf= of the files read wins; an empty one means none; --resolv-conf wins over all', () => {
    const main = join(dir, 'mgmt.conf');
    const dropIn = join(dir, 'mgmt.conf.d', '10-dhcp.conf');
    mkdirSync(join(dir, 'mgmt.conf.d'));
    writeFileSync(main, '[Resolve]\nResolvConf=/etc/a.resolv\n');
    writeFileSync(dropIn, '[Resolve]\nResolvConf=/run/vrf-resolver/mgmt.resolv\n');
    expect(resolvConfFileOf({ flags: {} }, config([main, dropIn]))).toBe('/run/vrf-resolver/mgmt.resolv');
    expect(resolvConfFileOf({ flags: {} }, config([main]))).toBe('/etc/a.resolv');
    writeFileSync(dropIn, '[Resolve]\nResolvConf=\n');
    expect(resolvConfFileOf({ flags: {} }, config([main, dropIn]))).toBeNull();
    expect(resolvConfFileOf({ flags: { resolvConf: '/x/y.resolv' } }, config([main, dropIn]))).toBe('/x/y.resolv');
    expect(resolvConfFileOf({ flags: { resolvConf: '' } }, config([main]))).toBeNull();
    expect(resolvConfFileOf({ flags: {} }, config([]))).toBeNull();
  });

  it('a relative path is taken from the working directory, as the loader reads it', () => {
    expect(resolvConfFileOf({ flags: { resolvConf: 'rel.resolv' } }, config([]))).toBe(join(process.cwd(), 'rel.resolv'));
  });
});

describe('readBounded: untrusted file contents', () => {
  it('reads a small regular file', () => {
    writeFileSync(join(dir, 'ok'), 'nameserver 192.0.2.1\n');
    expect(readBounded(join(dir, 'ok'), MAX_FILE_BYTES)).toEqual({ ok: true, text: 'nameserver 192.0.2.1\n' });
  });

  it('refuses, with the reason, a missing file, a directory, a FIFO (without blocking) and a huge file', () => {
    expect(readBounded(join(dir, 'nope'), MAX_FILE_BYTES)).toEqual({ ok: false, why: `cannot read ${join(dir, 'nope')}: no such file` });
    mkdirSync(join(dir, 'd'));
    expect(readBounded(join(dir, 'd'), MAX_FILE_BYTES)).toMatchObject({ ok: false, why: expect.stringMatching(/is a directory/) });
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(readBounded(join(dir, 'fifo'), MAX_FILE_BYTES)).toMatchObject({ ok: false, why: expect.stringMatching(/not a regular file/) });
    writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_FILE_BYTES + 1, 0x41));
    expect(readBounded(join(dir, 'big'), MAX_FILE_BYTES)).toMatchObject({ ok: false, why: expect.stringMatching(/more than 65536/) });
    writeFileSync(join(dir, 'edge'), Buffer.alloc(MAX_FILE_BYTES, 0x41));
    expect(readBounded(join(dir, 'edge'), MAX_FILE_BYTES).ok).toBe(true);
  });
});

describe('DirWatch: a directory that cannot be watched', () => {
  it('is reported once per reason, retried on the clock, and watched again when it appears', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const events: DirWatchEvents = {
      changed: () => seen.push('changed'),
      failed: (d, why) => seen.push(`failed ${d === join(dir, 'later') ? 'later' : d}: ${why}`),
      recovered: (d) => seen.push(`recovered ${d === join(dir, 'later') ? 'later' : d}`),
    };
    const w = new DirWatch({ clock, retryMs: 5000, events });
    w.follow([join(dir, 'later', 'mgmt.resolv')]);
    expect(seen).toEqual(['failed later: no such directory']);
    clock.advance(5000);
    clock.advance(5000);
    expect(seen).toEqual(['failed later: no such directory']); // still missing: said once
    mkdirSync(join(dir, 'later'));
    clock.advance(5000);
    expect(seen).toEqual(['failed later: no such directory', 'recovered later', 'changed']);
    w.close();
  });

  it('close() and follow([]) leave no retry timer behind', () => {
    const clock = trackingClock(new ManualClock());
    const noop: DirWatchEvents = { changed: () => undefined, failed: () => undefined, recovered: () => undefined };
    const w = new DirWatch({ clock, retryMs: 5000, events: noop });
    w.follow([join(dir, 'missing', 'f')]);
    expect(clock.live()).toBe(1);
    w.follow([]);
    expect(clock.live()).toBe(0);
    w.follow([join(dir, 'missing', 'f')]);
    w.close();
    expect(clock.live()).toBe(0);
    expect(w.directories).toEqual([]);
  });
});

// ---- The follower on real files -------------------------------------------------------------

/** A clock that counts the timers still armed. */
function trackingClock(base: Clock): Clock & { live(): number } {
  let live = 0;
  return {
    now: () => base.now(),
    after(ms, fn) {
      live++;
      let done = false;
      const finish = (): void => {
        if (!done) live--;
        done = true;
      };
      const cancel = base.after(ms, () => {
        finish();
        fn();
      });
      return () => {
        finish();
        cancel();
      };
    },
    live: () => live,
  };
}

async function until<T>(what: string, check: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Rig {
  follower: UpstreamFileFollower;
  applied: Config[];
  logs: Array<Record<string, unknown>>;
  signals: EventEmitter;
  clock: Clock & { live(): number };
  current(): Config;
  /** Loads the config again and makes it current, as a SIGHUP reload does, then signals. */
  hup(): void;
  /** The log lines with this msg fragment. */
  lines(msg: string): Array<Record<string, unknown>>;
}

function rig(load: LoadOptions, opts: { retryMs?: number } = {}): Rig {
  const logs: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) });
  let current = loadConfig(load);
  const applied: Config[] = [];
  let chain = Promise.resolve();
  const signals = new EventEmitter();
  const clock = trackingClock(systemClock);
  const follower = new UpstreamFileFollower({
    load,
    log,
    current: () => current,
    apply: async (next) => {
      applied.push(next);
      current = next;
    },
    serialize: (job) => void (chain = chain.then(job)),
    clock,
    signals,
    quietMs: 20,
    maxWaitMs: 200,
    retryMs: opts.retryMs ?? 100,
  });
  return {
    follower, applied, logs, signals, clock,
    current: () => current,
    hup: () => {
      current = loadConfig(load);
      signals.emit('SIGHUP');
    },
    lines: (msg) => logs.filter((l) => String(l['msg']).includes(msg)),
  };
}

const servers = (c: Config): string[] => c.upstream.servers.map((s) => s.address);
const atomic = (path: string, text: string): void => {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
};
const CHANGED = 'the upstream servers in the ResolvConf file changed';
const SAME = 'the upstream servers are the same';
const UNUSABLE = 'the ResolvConf file is not usable';

describe('UpstreamFileFollower', () => {
  let r: Rig | undefined;
  afterEach(() => {
    r?.follower.close();
    r = undefined;
  });
  /** mgmt.resolv holding `content`, followed by a new rig (r) listening on `listen`; the file's path. */
  const watch = (content: string, listen = '127.0.0.1:5300'): string => {
    const file = join(dir, 'mgmt.resolv');
    writeFileSync(file, content);
    r = rig({ flags: { resolvConf: file, listen: [listen] } });
    return file;
  };

  it('an atomic rename with other servers is applied, and logged with the old and new lists', async () => {
    const file = watch('nameserver 192.0.2.1\n');
    expect(r.follower.followed).toBe(file);
    expect(r.follower.directories).toEqual([dir]);
    atomic(file, '# dhclient\nnameserver 192.0.2.2\nnameserver 2001:db8::2\n');
    await until('the change applied', () => r!.applied.length === 1);
    expect(servers(r.current())).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(r.lines(CHANGED)).toEqual([expect.objectContaining({
      level: 30, trigger: 'ResolvConf changed', file, old: ['192.0.2.1:53'], new: ['192.0.2.2:53', '[2001:db8::2]:53'],
    })]);
  });

  it('an in-place write (truncate, then write) is seen too', async () => {
    const file = watch('nameserver 192.0.2.1\n');
    writeFileSync(file, 'nameserver 192.0.2.3\n');
    await until('the change applied', () => r!.applied.length === 1);
    expect(servers(r.current())).toEqual(['192.0.2.3']);
  });

  it('the same servers with other comments: nothing is applied; in another order: applied (the preference changed)', async () => {
    const file = watch('nameserver 192.0.2.1\nnameserver 192.0.2.2\n');
    await until('the first check', () => r!.lines(SAME).length === 1); // the check at start
    atomic(file, '# renewed lease\nsearch example.net\nnameserver 192.0.2.1 # primary\nnameserver 192.0.2.2\n');
    await until('the rewrite checked', () => r!.lines(SAME).length === 2);
    expect(r.applied).toEqual([]);
    atomic(file, 'nameserver 192.0.2.2\nnameserver 192.0.2.1\n');
    await until('the reorder applied', () => r!.applied.length === 1);
    expect(servers(r.current())).toEqual(['192.0.2.2', '192.0.2.1']);
  });

  it('deleted, garbage, binary, huge, a directory, a FIFO, a loop to ourselves: one warn line each, the old list stays; good again: applied', async () => {
    const file = watch('nameserver 192.0.2.1\n', '127.0.0.1:53');
    const warns = (): string[] => r!.lines(UNUSABLE).map((l) => String(l['why']));
    const expectWarn = async (n: number, why: RegExp): Promise<void> => {
      await until(`warn ${n}`, () => warns().length === n);
      expect(warns()[n - 1]).toMatch(why);
    };
    rmSync(file);
    await expectWarn(1, /no such file/);
    writeFileSync(file, 'this is not a resolv.conf\n');
    await expectWarn(2, /no nameserver lines/);
    writeFileSync(file, 'nameserver 192.0.2.9\nnameserver not-an-address\n'); // the loader refuses it as a whole, so do we
    await expectWarn(3, /:2 nameserver/);
    atomic(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1'));
    await expectWarn(4, /no nameserver lines|nameserver/);
    atomic(file, `${'nameserver garbage\n'.repeat(600_000)}`); // ~11 MB
    await expectWarn(5, /more than 65536/);
    rmSync(file);
    mkdirSync(file);
    await expectWarn(6, /is a directory/);
    rmSync(file, { recursive: true });
    execFileSync('mkfifo', [file]);
    await expectWarn(7, /not a regular file/);
    rmSync(file);
    atomic(file, 'nameserver 127.0.0.1\n'); // our own listener: the loader says it is a loop
    await expectWarn(8, /forwarding loop/);
    expect(r.lines(UNUSABLE)[0]).toMatchObject({ level: 40, file, upstreams: ['192.0.2.1:53'] });
    // The same fault again is not said again.
    atomic(file, 'nameserver 127.0.0.1\n# still\n');
    await new Promise((res) => setTimeout(res, 300));
    expect(warns()).toHaveLength(8);
    expect(r.applied).toEqual([]);
    expect(servers(r.current())).toEqual(['192.0.2.1']);
    atomic(file, 'nameserver 192.0.2.7\n');
    await until('applied once good', () => r!.applied.length === 1);
    expect(servers(r.current())).toEqual(['192.0.2.7']);
  });

  it('good again with the servers it had: an info line, nothing to apply', async () => {
    const file = watch('nameserver 192.0.2.1\n');
    rmSync(file);
    await until('warned', () => r!.lines(UNUSABLE).length === 1);
    atomic(file, 'nameserver 192.0.2.1\n');
    await until('usable again', () => r!.lines('usable again').length === 1);
    expect(r.applied).toEqual([]);
  });

  it('its directory removed and made again: warned, retried, and the file there is applied', async () => {
    const sub = join(dir, 'run');
    mkdirSync(sub);
    const file = join(sub, 'mgmt.resolv');
    writeFileSync(file, 'nameserver 192.0.2.1\n');
    r = rig({ flags: { resolvConf: file, listen: ['127.0.0.1:5300'] } }, { retryMs: 50 });
    rmSync(sub, { recursive: true });
    await until('the directory warn', () => r!.lines('cannot watch the directory').length === 1);
    expect(r.lines('cannot watch the directory')[0]).toMatchObject({ level: 40, dir: sub, why: 'no such directory' });
    mkdirSync(sub);
    await until('watched again', () => r!.lines('watching the directory of the ResolvConf file again').length === 1);
    atomic(file, 'nameserver 192.0.2.5\n');
    await until('applied', () => r!.applied.length === 1);
    expect(servers(r.current())).toEqual(['192.0.2.5']);
  });

  it('a symlinked file: a write to its target is seen', async () => {
    const target = join(dir, 'real', 'resolv.conf');
    mkdirSync(join(dir, 'real'));
    writeFileSync(target, 'nameserver 192.0.2.1\n');
    const link = join(dir, 'mgmt.resolv');
    symlinkSync(target, link);
    r = rig({ flags: { resolvConf: link, listen: ['127.0.0.1:5300'] } });
    expect(r.follower.directories.sort()).toEqual([dir, join(dir, 'real')].sort());
    atomic(target, 'nameserver 192.0.2.4\n');
    await until('applied', () => r!.applied.length === 1);
    expect(servers(r.current())).toEqual(['192.0.2.4']);
  });

  it('after a SIGHUP reload that moves ResolvConf=, the new file is followed and the old one no longer', async () => {
    const a = join(dir, 'a.resolv');
    const b = join(dir, 'b.resolv');
    writeFileSync(a, 'nameserver 192.0.2.1\n');
    writeFileSync(b, 'nameserver 192.0.2.2\n');
    const conf = join(dir, 'mgmt.conf');
    writeFileSync(conf, `[Resolve]\nListen=127.0.0.1:5300\nResolvConf=${a}\n`);
    r = rig({ file: conf, flags: {} });
    expect(r.follower.followed).toBe(a);
    writeFileSync(conf, `[Resolve]\nListen=127.0.0.1:5300\nResolvConf=${b}\n`);
    r.hup();
    await until('following b', () => r!.follower.followed === b);
    expect(r.lines('following the ResolvConf file').at(-1)).toMatchObject({ file: b, was: a });
    atomic(a, 'nameserver 192.0.2.8\n'); // no longer ours
    atomic(b, 'nameserver 192.0.2.9\n');
    await until('b applied', () => r!.applied.length === 1);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.applied.map(servers)).toEqual([['192.0.2.9']]);
    writeFileSync(conf, '[Resolve]\nListen=127.0.0.1:5300\nDNS=192.0.2.10\n');
    r.hup();
    await until('following nothing', () => r!.follower.followed === null);
    expect(r.follower.directories).toEqual([]);
    expect(r.lines('no longer followed')).toHaveLength(1);
  });

  it('a SIGHUP that changes nothing keeps the watch as it was', async () => {
    const file = watch('nameserver 192.0.2.1\n');
    r.hup();
    await new Promise((res) => setTimeout(res, 100));
    expect(r.lines('following the ResolvConf file')).toHaveLength(1);
    expect(r.follower.followed).toBe(file);
  });

  it('no ResolvConf=: watches nothing', () => {
    r = rig({ flags: { upstream: ['192.0.2.1'], listen: ['127.0.0.1:5300'] } });
    expect(r.follower.followed).toBeNull();
    expect(r.follower.directories).toEqual([]);
  });

  it('close(): no timer, no SIGHUP listener, no watch left; a change afterwards applies nothing', async () => {
    const file = join(dir, 'mgmt.resolv');
    writeFileSync(file, 'nameserver 192.0.2.1\n');
    const rr = rig({ flags: { resolvConf: file, listen: ['127.0.0.1:5300'] } });
    writeFileSync(file, 'nameserver 192.0.2.2\n'); // a debounce timer is armed now
    await until('the event', () => rr.clock.live() > 0 || rr.applied.length > 0, 2000).catch(() => undefined);
    rr.follower.close();
    expect(rr.clock.live()).toBe(0);
    expect(rr.signals.listenerCount('SIGHUP')).toBe(0);
    expect(rr.follower.directories).toEqual([]);
    const before = rr.applied.length;
    atomic(file, 'nameserver 192.0.2.3\n');
    await new Promise((res) => setTimeout(res, 200));
    expect(rr.applied.length).toBe(before);
    expect(readdirSync(dir)).toContain('mgmt.resolv');
  });

  it('a burst of writes is one check and at most one apply', async () => {
    const file = watch('nameserver 192.0.2.1\n');
    await until('the first check', () => r!.lines(SAME).length === 1);
    for (let i = 0; i < 50; i++) writeFileSync(file, `nameserver 192.0.2.${(i % 3) + 100}\n`);
    await until('applied', () => r!.applied.length >= 1);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.applied.length).toBeLessThanOrEqual(3); // a few checks at most (the burst may straddle them), never one per write
    expect(servers(r.current())).toEqual([`192.0.2.${(49 % 3) + 100}`]);
  });
});
