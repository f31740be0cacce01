// sd_notify(3) and sd_listen_fds(3) on our side, without a service manager: what is sent,
// when the watchdog is ours, and which passed fds are ours; and the two native functions.
import { describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { Notifier, watchdogInterval } from '../../src/systemd/notify.js';
import { takeListenFds, adoptListenFds } from '../../src/systemd/listen-fds.js';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { closeFd, createSocket, isNativeSocketError, listenFdInfo, sdNotify } from '../../src/native/binding.js';

function recorder(env: Record<string, string>, pid = 4242) {
  const sent: { path: string; msg: string }[] = [];
  const n = new Notifier({ env, pid, send: (path, msg) => void sent.push({ path, msg }) });
  return { n, sent };
}

describe('Notifier (sd_notify)', () => {
  it('is a no-op without NOTIFY_SOCKET', () => {
    const { n, sent } = recorder({});
    n.ready('x');
    n.reloading();
    n.stopping();
    expect(n.enabled).toBe(false);
    expect(n.startWatchdog()).toBeTypeOf('function');
    expect(sent).toEqual([]);
  });

  it('sends READY with a one-line STATUS, RELOADING with MONOTONIC_USEC, STOPPING', () => {
    const { n, sent } = recorder({ NOTIFY_SOCKET: '/run/systemd/notify' });
    n.ready('udp+tcp 127.0.0.1:53\nsecond line');
    const before = process.hrtime.bigint() / 1000n;
    n.reloading();
    n.stopping();
    expect(sent.map((s) => s.path)).toEqual(Array(3).fill('/run/systemd/notify'));
    expect(sent[0]!.msg).toBe('READY=1\nSTATUS=udp+tcp 127.0.0.1:53 second line');
    const m = /^RELOADING=1\nMONOTONIC_USEC=(\d+)\nSTATUS=/.exec(sent[1]!.msg);
    expect(m).not.toBeNull();
    const usec = BigInt(m![1]!);
    expect(usec >= before && usec - before < 1_000_000n).toBe(true); // CLOCK_MONOTONIC, in µs
    expect(sent[2]!.msg).toBe('STOPPING=1\nSTATUS=stopping');
  });

  it('takes abstract-namespace sockets (@...) and ignores a relative NOTIFY_SOCKET', () => {
    expect(recorder({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }).n.socketPath).toBe('@/org/freedesktop/systemd1/notify');
    expect(recorder({ NOTIFY_SOCKET: 'notify' }).n.enabled).toBe(false);
  });

  it('pings the watchdog at half of WATCHDOG_USEC, only when WATCHDOG_PID is ours or unset', () => {
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000' }, 1)).toBe(10_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }, 1)).toBe(10_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '2' }, 1)).toBeNull();
    expect(watchdogInterval({ WATCHDOG_USEC: '0' }, 1)).toBeNull();
    expect(watchdogInterval({ WATCHDOG_USEC: 'soon' }, 1)).toBeNull();
    expect(watchdogInterval({}, 1)).toBeNull();
    // Without NOTIFY_SOCKET there is nobody to ping.
    expect(recorder({ WATCHDOG_USEC: '1000000' }).n.watchdogIntervalMs).toBeNull();
  });

  it('the watchdog timer sends WATCHDOG=1 at once and then every interval, until stopped', () => {
    vi.useFakeTimers();
    try {
      const { n, sent } = recorder({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '2000000' });
      const stop = n.startWatchdog();
      expect(sent).toHaveLength(1);
      vi.advanceTimersByTime(3_000);
      expect(sent.map((s) => s.msg)).toEqual(Array(4).fill('WATCHDOG=1'));
      stop();
      vi.advanceTimersByTime(3_000);
      expect(sent).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never throws when sending fails, and logs each kind of failure once', () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const n = new Notifier({ env: { NOTIFY_SOCKET: '/gone' }, send: () => { throw new Error('sendto ENOENT /gone'); }, log });
    for (let i = 0; i < 3; i++) n.watchdog();
    n.ready('x');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'cannot notify the service manager', err: 'sendto ENOENT /gone', message: 'WATCHDOG' });
  });
});

describe('takeListenFds (sd_listen_fds)', () => {
  it('returns fds 3.. with their names when LISTEN_PID is ours, and unsets the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '3', LISTEN_PID: '77', LISTEN_FDNAMES: 'dns:dns' };
    expect(takeListenFds(env, 77)).toEqual([{ fd: 3, name: 'dns' }, { fd: 4, name: 'dns' }, { fd: 5, name: 'unknown' }]);
    expect(env).toEqual({});
  });

  it('ignores fds meant for another process, or none at all', () => {
    expect(takeListenFds({ LISTEN_FDS: '2', LISTEN_PID: '78' }, 77)).toEqual([]);
    expect(takeListenFds({ LISTEN_FDS: '2' }, 77)).toEqual([]);
    expect(takeListenFds({}, 77)).toEqual([]);
  });

  it('rejects a malformed LISTEN_FDS', () => {
    expect(() => takeListenFds({ LISTEN_FDS: 'two', LISTEN_PID: '1' }, 1)).toThrow(/LISTEN_FDS="two" is not a number/);
  });

  it('refuses sockets of the wrong kind or on the wrong device, before adopting any', async () => {
    const base = { type: 'udp', family: 4, listening: false, device: 'mgmt', address: '127.0.0.1', port: 53 } as const;
    const fds = [{ fd: 3, name: 'dns' }];
    await expect(adoptListenFds(fds, { device: 'mgmt', info: () => ({ ...base, device: null }) }))
      .rejects.toThrow(/fd 3 \("dns"\) \(udp 127\.0\.0\.1:53\) is not bound to a device, but this instance serves VRF mgmt/);
    await expect(adoptListenFds(fds, { device: null, info: () => base }))
      .rejects.toThrow(/is bound to device mgmt, but this instance serves the default VRF/);
    await expect(adoptListenFds(fds, { device: 'mgmt', info: () => ({ ...base, type: 'tcp' }) }))
      .rejects.toThrow(/is not listening: the socket unit must use Accept=no/);
    await expect(adoptListenFds(fds, { device: 'mgmt', info: () => ({ ...base, type: 'other', family: 0, address: null, port: null }) }))
      .rejects.toThrow(/not an IPv4 or IPv6 UDP or TCP socket/);
  });
});

describe('native helper: sdNotify and listenFdInfo', () => {
  it('sdNotify: TypeError for a bad path, SystemError shape when nobody listens', () => {
    expect(() => sdNotify('relative/notify', 'READY=1')).toThrow(TypeError);
    expect(() => sdNotify(`/${'x'.repeat(200)}`, 'READY=1')).toThrow(/at most 107 bytes/);
    const fdsBefore = readdirSync('/proc/self/fd').length;
    let err: unknown;
    try {
      sdNotify(`/tmp/vrf-resolver-no-such-${process.pid}.sock`, 'READY=1');
    } catch (e) {
      err = e;
    }
    expect(isNativeSocketError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'sendto', address: `/tmp/vrf-resolver-no-such-${process.pid}.sock` });
    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore); // closed on the failure path
  });

  it('listenFdInfo: type, family, address, device and listening of a socket; EBADF/ENOTSOCK otherwise', () => {
    const udp = createSocket({ family: 6, type: 'udp', address: '::1', port: 0, v6Only: true });
    const tcp = createSocket({ family: 4, type: 'tcp', address: '127.0.0.1', port: 0, backlog: 4, device: 'lo' });
    try {
      expect(listenFdInfo(udp)).toMatchObject({ type: 'udp', family: 6, address: '::1', device: null, listening: false });
      expect(listenFdInfo(tcp)).toMatchObject({ type: 'tcp', family: 4, address: '127.0.0.1', device: 'lo', listening: true });
      expect(listenFdInfo(tcp).port).toBeGreaterThan(0);
    } finally {
      closeFd(udp);
      closeFd(tcp);
    }
    expect(() => listenFdInfo(0x7fff)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'getsockopt' }));
    const file = openSync('/proc/self/status', 'r');
    try {
      expect(() => listenFdInfo(file)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    } finally {
      closeSync(file);
    }
  });
});
