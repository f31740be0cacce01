// Raw socket probes written in python3, independent of the code under test: an echo responder
// that tags its replies (so we know WHICH namespace answered) and a one-shot client that can
// bind to a device with SO_BINDTODEVICE. Used to prove where traffic from C actually goes.

import { existsSync } from 'node:fs';
import type { Netns } from './netns.js';
import { spawnManaged, type ManagedProcess } from './process.js';

/** The system python (the PATH one may be a pyenv shim, slower to start). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// argv: tag port addr...; replies "<tag> <payload>" over UDP and TCP on every addr.
const ECHO_PY = `
import socket, sys, threading
tag, port, addrs = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3:]
def fam(a): return socket.AF_INET6 if ':' in a else socket.AF_INET
def udp(s):
    while True:
        d, peer = s.recvfrom(4096); s.sendto(tag + b' ' + d, peer)
def tcp(s):
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(2); c.sendall(tag + b' ' + c.recv(4096))
        except OSError: pass
        finally: c.close()
for a in addrs:
    u = socket.socket(fam(a), socket.SOCK_DGRAM); u.bind((a, port))
    t = socket.socket(fam(a), socket.SOCK_STREAM); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((a, port)); t.listen(16)
    threading.Thread(target=udp, args=(u,), daemon=True).start()
    threading.Thread(target=tcp, args=(t,), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

// argv: dev ('' = unbound) proto addr port timeout; prints one JSON line.
const PROBE_PY = `
import json, socket, sys
dev, proto, addr, port, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM if proto == 'udp' else socket.SOCK_STREAM)
s.settimeout(timeout)
try:
    if dev: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.connect((addr, port))  # also for UDP, so getsockname() shows the chosen source address
    s.sendall(b'ping'); data = s.recv(4096)
    print(json.dumps({'ok': True, 'reply': data.decode(), 'local': s.getsockname()[0]}))
except OSError as e:
    print(json.dumps({'ok': False, 'error': str(e)}))
`;

export interface EchoResponder {
  proc: ManagedProcess;
  stop(): Promise<void>;
}

/** UDP+TCP echo on `addrs`:`port` inside ns, replying "<tag> ping". Resolves once bound. */
export async function startEchoResponder(ns: Netns, tag: string, addrs: string[], port = 7007): Promise<EchoResponder> {
  const proc = spawnManaged(ns, PYTHON, ['-c', ECHO_PY, tag, String(port), ...addrs], { label: `echo-${tag}@${ns.name}` });
  try {
    await proc.waitForLog((l) => l.text === 'ready', 10_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, stop: async () => void (await proc.stop()) };
}

export interface ProbeResult {
  ok: boolean;
  /** "<tag> ping" from the responder that answered. */
  reply?: string;
  /** Local address the kernel chose. */
  local?: string;
  error?: string;
}

export interface ProbeOpts {
  /** SO_BINDTODEVICE target; omitted = unbound socket. */
  dev?: string;
  proto: 'udp' | 'tcp';
  addr: string;
  port?: number;
  timeoutSec?: number;
}

/** Sends "ping" from inside ns and reports who answered. */
export async function probe(ns: Netns, o: ProbeOpts): Promise<ProbeResult> {
  const t = o.timeoutSec ?? 2;
  const args = ['-c', PROBE_PY, o.dev ?? '', o.proto, o.addr, String(o.port ?? 7007), String(t)];
  const r = await ns.exec(PYTHON, args, { timeoutMs: (t + 5) * 1000 });
  try {
    return JSON.parse(r.stdout.trim()) as ProbeResult;
  } catch {
    return { ok: false, error: `probe failed (exit ${String(r.code)}): ${r.stderr.trim()}` };
  }
}
