// Device binding for real, in network namespaces this file creates and always deletes.
//
//   namespace A (a<pid>: 10.201.0.2, fd00:201::2) ---- c<pid>a \
//                                                                namespace C: 10.201.0.1 and
//   namespace B (b<pid>: 10.201.0.2, fd00:201::2) ---- c<pid>b /  fd00:201::1 on BOTH veths
//
// A and B have the same address, so only the device a socket in C is bound to decides who
// answers. The code under test runs inside C: a child `node` started with `ip netns exec`
// (setns cannot be applied to this process). The child imports src/ compiled on the fly with
// typescript.transpileModule into build/test-native-<pid>/, inside the package so that
// binding.ts finds package.json and build/native/Release/vrf_socket.node from there.
// Also here: EADDRNOTAVAIL (namespace E, lo down) and EACCES without CAP_NET_BIND_SERVICE
// (namespace P, through setpriv).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/native/binding.js';

const PID = process.pid;
const PREFIX = 'vrn'; // our namespaces: vrn<role><pid>; roles C A B E P
const NS = { C: `${PREFIX}C${PID}`, A: `${PREFIX}A${PID}`, B: `${PREFIX}B${PID}`, E: `${PREFIX}E${PID}`, P: `${PREFIX}P${PID}` };
const DEV = { CA: `c${PID}a`, CB: `c${PID}b`, A: `a${PID}`, B: `b${PID}`, E: `e${PID}`, EPEER: `e${PID}p` };
const PORT = 5300;
const ROOT = packageRoot();
const WORK = join(ROOT, 'build', `test-native-${PID}`);
const responders: ChildProcess[] = [];

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}
const ip = (...args: string[]) => sh('ip', args);
const inNs = (ns: string, ...args: string[]) => ip('netns', 'exec', ns, ...args);

function deleteNamespaces(names: string[]): void {
  for (const n of names) {
    try {
      ip('netns', 'del', n);
    } catch {
      // not there
    }
  }
}

/** Namespaces with our prefix left by runs whose process is gone (a killed worker). */
function removeStale(): void {
  const stale = ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => new RegExp(`^${PREFIX}[CABEP](\\d+)$`).test(n))
    .filter((n) => !existsSync(`/proc/${n.replace(/^\D+/, '')}`));
  deleteNamespaces(stale);
}

/** Compiles the modules under test to plain ESM beside the package (see the header). */
function transpile(): void {
  for (const rel of ['errors.ts', 'native/binding.ts', 'net/socket-factory.ts', 'net/plain-factory.ts', 'net/native-factory.ts', 'net/udp-upstream.ts', 'dns/copy.ts']) {
    const out = ts.transpileModule(readFileSync(join(ROOT, 'src', rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = join(WORK, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out);
  }
  writeFileSync(join(WORK, 'child.mjs'), CHILD);
  writeFileSync(join(WORK, 'responder.mjs'), RESPONDER);
}

// Runs one operation of the code under test and prints its outcome as one JSON line.
const CHILD = `
import { createSocket, closeFd } from './native/binding.js';
import { createNativeSocketFactory } from './net/native-factory.js';
const cmd = JSON.parse(process.argv[2]);
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); };
const fail = (e) => out({ error: { name: e.name, message: e.message, code: e.code, errno: e.errno,
  syscall: e.syscall, device: e.device, address: e.address, port: e.port, hint: e.hint } });
const within = (p, ms) => {
  let timer;
  const t = new Promise((_, r) => { timer = setTimeout(() => r(new Error('child timeout')), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
};
try {
  if (cmd.op === 'create') {
    const fds = cmd.list.map((o) => createSocket(o));
    fds.forEach(closeFd);
    out({ ok: true, capEff: /CapEff:\\s*(\\w+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1] });
  } else if (cmd.op === 'udp') {
    let s;
    const reply = within(new Promise((res, rej) => {
      s = createNativeSocketFactory(cmd.device).udpExchange(cmd.family, cmd.address, cmd.port, Buffer.from('ping'),
        { datagram: (m, fromPeer) => res(m.toString() + (fromPeer ? '' : ' (not from the peer)')), error: rej });
    }), 3000);
    out({ reply: await reply });
    s.close();
  } else if (cmd.op === 'tcp') {
    const s = await createNativeSocketFactory(cmd.device).tcpConnect(cmd.family, cmd.address, cmd.port, 3000);
    let buf = '';
    s.on('data', (d) => { buf += d; });
    s.end('ping');
    await within(new Promise((res) => s.on('end', res)), 3000);
    out({ reply: buf });
    s.destroy();
  } else if (cmd.op === 'listen2') {
    // Two listeners on the same address and port, one per device; report who gets what.
    const socks = await Promise.all(cmd.devices.map((d) => createNativeSocketFactory(d).udpListener({ family: cmd.family, address: cmd.address, port: cmd.port })));
    const got = await within(Promise.all(socks.map((s) => new Promise((res) => s.once('message', (m) => res(m.toString()))))), 5000)
      .then(null, (e) => ({ timeout: e.message }));
    out({ got });
    socks.forEach((s) => s.close());
  }
} catch (e) { fail(e); }
`;

// Answers with its own name over UDP and TCP on both families, in namespace A or B.
const RESPONDER = `
import dgram from 'node:dgram';
import net from 'node:net';
const name = process.argv[2];
const port = Number(process.argv[3]);
const ready = [];
for (const type of ['udp4', 'udp6']) {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  s.on('message', (m, r) => s.send(name + ':' + m, r.port, r.address));
  ready.push(new Promise((res) => s.bind(port, type === 'udp4' ? '0.0.0.0' : '::', res)));
}
for (const host of ['0.0.0.0', '::']) {
  const srv = net.createServer((c) => { let b = ''; c.on('data', (d) => { b += d; }); c.on('end', () => c.end(name + ':' + b)); });
  ready.push(new Promise((res) => srv.listen({ host, port, ipv6Only: host === '::' }, res)));
}
await Promise.all(ready);
process.stdout.write('ready\\n');
setTimeout(() => process.exit(0), 120000).unref(); // never outlive the test run by much
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

type ChildResult = { ok?: boolean; capEff?: string; reply?: string; got?: unknown; error?: Record<string, unknown> };

function runChild(ns: string, cmd: object, prefix: string[] = []): ChildResult {
  const args = ['netns', 'exec', ns, ...prefix, process.execPath, join(WORK, 'child.mjs'), JSON.stringify(cmd)];
  const lines = sh('ip', args).trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as ChildResult;
}

function startResponder(ns: string, name: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(WORK, 'responder.mjs'), name, String(PORT)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  responders.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`responder ${name} not ready in 10 s`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`responder ${name} exited with ${code}`)));
  });
}

function cleanup(): void {
  for (const r of responders.splice(0)) {
    r.stdin?.end();
    if (r.pid !== undefined && r.exitCode === null) r.kill('SIGTERM');
  }
  deleteNamespaces(Object.values(NS)); // deleting a namespace deletes the veths inside it
  rmSync(WORK, { recursive: true, force: true });
}

function setUp(): void {
  removeStale();
  transpile();
  for (const n of Object.values(NS)) ip('netns', 'add', n);
  for (const n of [NS.A, NS.B, NS.P]) inNs(n, 'ip', 'link', 'set', 'lo', 'up');
  // C <-> A and C <-> B, with the same addresses on both sides of both pairs.
  ip('link', 'add', DEV.CA, 'netns', NS.C, 'type', 'veth', 'peer', 'name', DEV.A, 'netns', NS.A);
  ip('link', 'add', DEV.CB, 'netns', NS.C, 'type', 'veth', 'peer', 'name', DEV.B, 'netns', NS.B);
  for (const [ns, dev, host] of [[NS.C, DEV.CA, '1'], [NS.C, DEV.CB, '1'], [NS.A, DEV.A, '2'], [NS.B, DEV.B, '2']] as const) {
    inNs(ns, 'ip', 'addr', 'add', `10.201.0.${host}/24`, 'dev', dev);
    inNs(ns, 'ip', 'addr', 'add', `fd00:201::${host}/64`, 'dev', dev, 'nodad');
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
  }
  // E: lo left down, so 127.0.0.1 and ::1 exist nowhere. The veth gets some other address:
  // in a namespace with no address at all there is no local routing table, and the kernel
  // then lets any IPv4 address bind (inet_addr_type() answers RTN_BROADCAST).
  ip('link', 'add', DEV.E, 'netns', NS.E, 'type', 'veth', 'peer', 'name', DEV.EPEER, 'netns', NS.E);
  inNs(NS.E, 'ip', 'addr', 'add', '10.202.0.1/24', 'dev', DEV.E);
  inNs(NS.E, 'ip', 'link', 'set', DEV.E, 'up');
}

beforeAll(async () => {
  process.once('exit', cleanup); // a crashed run still removes what it made
  try {
    setUp();
    await Promise.all([startResponder(NS.A, 'A'), startResponder(NS.B, 'B')]);
  } catch (e) {
    cleanup();
    throw e;
  }
}, 30_000);

afterAll(() => {
  cleanup();
  process.off('exit', cleanup);
});

describe('device binding between two namespaces with the same address', () => {
  const target = { 4: '10.201.0.2', 6: 'fd00:201::2' } as const;
  describe.each([4, 6] as const)('IPv%i', (family) => {
    it.each([
      ['A', DEV.CA],
      ['B', DEV.CB],
    ])('UDP through the veth to %s gets its answer', (name, device) => {
      const r = runChild(NS.C, { op: 'udp', device, family, address: target[family], port: PORT });
      expect(r).toEqual({ reply: `${name}:ping` });
    });

    it.each([
      ['A', DEV.CA],
      ['B', DEV.CB],
    ])('TCP through the veth to %s gets its answer', (name, device) => {
      const r = runChild(NS.C, { op: 'tcp', device, family, address: target[family], port: PORT });
      expect(r).toEqual({ reply: `${name}:ping` });
    });
  });

  it('two UDP listeners on two devices share one address and port, and each gets its own traffic', async () => {
    // This is how instances for several VRFs all answer on 127.0.0.1:53.
    const child = spawn('ip', ['netns', 'exec', NS.C, process.execPath, join(WORK, 'child.mjs'),
      JSON.stringify({ op: 'listen2', devices: [DEV.CA, DEV.CB], family: 4, address: '10.201.0.1', port: 5400 })], { stdio: ['ignore', 'pipe', 'inherit'] });
    responders.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The listeners are up once the child is running; send from A and B until they answer.
    const send = (ns: string, text: string) => inNs(ns, process.execPath, '--input-type=module', '-e',
      `import d from 'node:dgram'; const s = d.createSocket('udp4'); s.send('${text}', 5400, '10.201.0.1', () => s.close());`);
    for (let i = 0; i < 20 && !out.includes('"got"'); i++) {
      await new Promise((r) => setTimeout(r, 150));
      send(NS.A, 'from-A');
      send(NS.B, 'from-B');
    }
    await exited;
    const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult;
    expect(result).toEqual({ got: ['from-A', 'from-B'] });
  });

  it('without SO_REUSEADDR, two devices still share a port; an unbound socket then conflicts', () => {
    const base = { family: 4, type: 'udp', address: '10.201.0.1', port: 5401 };
    expect(runChild(NS.C, { op: 'create', list: [{ ...base, device: DEV.CA }, { ...base, device: DEV.CB }] }).ok).toBe(true);
    const r = runChild(NS.C, { op: 'create', list: [{ ...base, device: DEV.CA }, base] });
    expect(r.error).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
  });
});

describe('errors that need a namespace', () => {
  it.each([
    [4, '127.0.0.1', 'ip addr add 127.0.0.1/8 dev'],
    [6, '::1', 'ip addr add ::1/128 dev'],
  ] as const)('EADDRNOTAVAIL for IPv%i %s on a device without it', (family, address, hint) => {
    const r = runChild(NS.E, { op: 'create', list: [{ family, type: 'udp', device: DEV.E, address, port: 53 }] });
    expect(r.error).toMatchObject({ code: 'EADDRNOTAVAIL', errno: -99, syscall: 'bind', device: DEV.E, address, port: 53 });
    expect(r.error?.hint).toContain(`${hint} ${DEV.E}`);
  });

  it('EACCES for port 53 without CAP_NET_BIND_SERVICE', () => {
    // Unprivileged ports start at 1024 in a fresh namespace, so port 53 needs the capability.
    expect(Number(inNs(NS.P, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'))).toBeGreaterThan(53);
    const udp = { family: 4, type: 'udp', address: '127.0.0.1', port: 53 };
    const tcp = { family: 6, type: 'tcp', address: '::1', port: 53, backlog: 8 };
    // Control: as root with all capabilities, both succeed.
    expect(runChild(NS.P, { op: 'create', list: [udp, tcp] }).ok).toBe(true);
    // Dropped from the bounding and inheritable sets, the capability is gone after exec.
    const drop = ['setpriv', '--bounding-set', '-net_bind_service', '--inh-caps', '-net_bind_service'];
    for (const opts of [udp, tcp]) {
      const r = runChild(NS.P, { op: 'create', list: [opts] }, drop);
      expect(r.error).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'bind', port: 53 });
      expect(r.error?.hint).toContain('CAP_NET_BIND_SERVICE');
    }
  });
});
