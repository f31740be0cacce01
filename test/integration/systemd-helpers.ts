// Shared by the systemd-*.test.ts integration tests: a stand-in for systemd's notification
// socket (python3, since Node has no AF_UNIX datagram sockets), config files, and waiting for
// log lines that come after a point in time (a second "configuration reloaded", say).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from '../helpers/pysock.js';
import { spawnManaged, type LogLine, type ManagedProcess } from '../helpers/process.js';

// argv: address ('/path' or '@abstract'). One JSON line per datagram: CLOCK_MONOTONIC time,
// the sender's pid (SCM_CREDENTIALS, as systemd checks it) and the message. Bounded loop.
const RECEIVER_PY = `
import json, os, socket, struct, sys, time
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print(json.dumps({'ready': True}), flush=True)
for _ in range(100000):
    data, anc, _f, _a = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = None
    for level, typ, d in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid = struct.unpack('iII', d[:12])[0]
    print(json.dumps({'t': time.monotonic(), 'pid': pid, 'msg': data.decode()}), flush=True)
`;

export interface Notification {
  /** CLOCK_MONOTONIC seconds when it arrived. */
  readonly t: number;
  readonly pid: number | null;
  readonly msg: string;
  readonly fields: Record<string, string>;
}

export interface NotifySocket {
  readonly address: string;
  readonly proc: ManagedProcess;
  received(): Notification[];
  /** The first notification (seen or future) with this field, after `from` notifications. */
  waitFor(field: string, from?: number, timeoutMs?: number): Promise<Notification>;
  close(): Promise<void>;
}

function toNotification(l: LogLine): Notification | null {
  const j = l.json;
  if (!j || typeof j['msg'] !== 'string') return null;
  const msg = j['msg'];
  const fields = Object.fromEntries(msg.split('\n').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { t: Number(j['t']), pid: typeof j['pid'] === 'number' ? j['pid'] : null, msg, fields };
}

/** A notification socket at a fresh path, or in the abstract namespace when `abstract`. */
export async function startNotifySocket(abstract = false): Promise<NotifySocket> {
  const dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-notify-'));
  const address = abstract ? `@vrf-resolver-test-${process.pid}-${Date.now()}` : join(dir, 'notify');
  const proc = spawnManaged(null, PYTHON, ['-c', RECEIVER_PY, address], { label: 'notify-socket' });
  await proc.waitForLog((l) => l.json?.['ready'] === true, 10_000);
  const received = (): Notification[] => proc.lines.map(toNotification).filter((n): n is Notification => n !== null);
  return {
    address,
    proc,
    received,
    async waitFor(field, from = 0, timeoutMs = 10_000) {
      const isNotification = (l: LogLine): boolean => toNotification(l) !== null;
      const line = await proc.waitForLog((l) => {
        const n = toNotification(l);
        return n !== null && field in n.fields && proc.lines.filter(isNotification).indexOf(l) >= from;
      }, timeoutMs);
      return toNotification(line)!;
    },
    async close() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config file in a fresh directory; rewrite() replaces its text (for SIGHUP tests). */
export function configFile(lines: readonly string[]): { path: string; rewrite(lines: readonly string[]): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-conf-'));
  const path = join(dir, 'test.conf');
  const write = (ls: readonly string[]): void => writeFileSync(path, `${ls.join('\n')}\n`);
  write(lines);
  return { path, rewrite: write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The first log line after the first `from` lines that matches. */
export function waitForLogAfter(proc: ManagedProcess, from: number, pred: (l: LogLine) => boolean, timeoutMs = 5_000): Promise<LogLine> {
  return proc.waitForLog((l) => pred(l) && proc.lines.indexOf(l) >= from, timeoutMs);
}

export { udpAsk } from '../helpers/instance.js';
