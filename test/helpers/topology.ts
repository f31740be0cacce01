// The "twin upstreams" topology: one client/resolver namespace C wired by two veth pairs to two
// upstream namespaces A and B that use the SAME addresses. A resolver that really binds its
// upstream sockets to a device (SO_BINDTODEVICE, what a VRF gives us in production) reaches A or B
// depending on the device; one that does not always reaches whichever the main table picks.
//
//   C (lo up)                               A (lo up)
//     <devA> 10.53.0.1/24 fd53::1/64  <==>    eth0 10.53.0.2/24 fd53::2/64
//     <devB> 10.53.0.1/24 fd53::1/64  <==>  B eth0 10.53.0.2/24 fd53::2/64
//
// Routing in C (verified in test/integration/harness.test.ts, kernel without VRF):
// - The main table holds two connected routes per family, `10.53.0.0/24 dev devA` and `... dev
//   devB` (same for fd53::/64). They are separate routes, not multipath.
// - An unbound socket gets the first one installed: devA, because its addresses are added first
//   (`ip route get 10.53.0.2` -> dev devA). Tests must not depend on that beyond "A, not B".
// - A socket with SO_BINDTODEVICE=devX does its route lookup with oif=devX and reaches X's twin,
//   for IPv4 and IPv6, UDP and TCP.
// - rp_filter must not be strict (1) in C: the reverse-path check for replies arriving on devB
//   looks up 10.53.0.2 in the main table, finds devA and drops them. We set it to 0 explicitly.
// - DAD is disabled in all three namespaces (accept_dad=0 before the veths exist, plus `nodad`)
//   so no address, link-local included, is ever tentative.

import { Netns, cleanupStale } from './netns.js';
import { runOk, waitFor } from './exec.js';

export interface TwinUpstreams {
  /** Client/resolver namespace. */
  c: Netns;
  /** Upstream namespaces; each has `eth0` with the same addresses. */
  a: Netns;
  b: Netns;
  /** Device names in C leading to A and to B (unique per run, ≤ 15 chars). */
  devA: string;
  devB: string;
  /** The upstream side's device name, in both A and B. */
  upstreamDev: 'eth0';
  v4: { client: string; upstream: string; prefixLen: number };
  v6: { client: string; upstream: string; prefixLen: number };
  /** Kills every process in the three namespaces and deletes them. Idempotent. */
  destroy(): Promise<void>;
}

const V4 = { client: '10.53.0.1', upstream: '10.53.0.2', prefixLen: 24 };
const V6 = { client: 'fd53::1', upstream: 'fd53::2', prefixLen: 64 };

async function sysctl(ns: Netns, settings: readonly string[]): Promise<void> {
  const r = await ns.exec('sysctl', ['-q', '-w', ...settings], { timeoutMs: 5_000 });
  if (r.code !== 0) throw new Error(`sysctl in ${ns.name}: ${r.stderr.trim()}`);
}

/** Creates a veth whose ends are born inside `c` and `peer` (nothing appears in the host namespace). */
async function addVeth(c: Netns, dev: string, peer: Netns): Promise<void> {
  await runOk('ip', ['-n', c.name, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer.name]);
  for (const [ns, d, v4, v6] of [
    [c, dev, V4.client, V6.client],
    [peer, 'eth0', V4.upstream, V6.upstream],
  ] as const) {
    await runOk('ip', ['-n', ns.name, 'addr', 'add', `${v4}/${V4.prefixLen}`, 'dev', d]);
    await runOk('ip', ['-n', ns.name, 'addr', 'add', `${v6}/${V6.prefixLen}`, 'dev', d, 'nodad']);
    await runOk('ip', ['-n', ns.name, 'link', 'set', d, 'up']);
  }
}

async function waitReady(ns: Netns, dev: string): Promise<void> {
  await waitFor(`${ns.name}/${dev} carrier and no tentative IPv6 address`, async () => {
    const link = await runOk('ip', ['-n', ns.name, '-o', 'link', 'show', 'dev', dev]);
    const tentative = await runOk('ip', ['-n', ns.name, '-6', '-o', 'addr', 'show', 'tentative']);
    return link.stdout.includes('LOWER_UP') && tentative.stdout.trim() === '' ? true : undefined;
  }, 5_000);
}

export async function buildTwinUpstreams(): Promise<TwinUpstreams> {
  await cleanupStale();
  const created: Netns[] = [];
  const destroyAll = async (): Promise<void> => {
    // Sequential so a failure deleting one never skips the others (destroy() does not throw).
    for (const ns of created) await ns.destroy();
  };
  try {
    const c = await Netns.create('c');
    created.push(c);
    const a = await Netns.create('a');
    created.push(a);
    const b = await Netns.create('b');
    created.push(b);
    const noDad = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
    await sysctl(c, [...noDad, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    await sysctl(a, noDad);
    await sysctl(b, noDad);
    // Device names only need to be unique inside C, but unique names make logs unambiguous.
    const devA = `${c.name}A`;
    const devB = `${c.name}B`;
    await addVeth(c, devA, a); // devA first: the unbound-socket route in C then points at A
    await addVeth(c, devB, b);
    await Promise.all([waitReady(c, devA), waitReady(c, devB), waitReady(a, 'eth0'), waitReady(b, 'eth0')]);
    let destroying: Promise<void> | undefined;
    return {
      c,
      a,
      b,
      devA,
      devB,
      upstreamDev: 'eth0',
      v4: { ...V4 },
      v6: { ...V6 },
      destroy: () => (destroying ??= destroyAll()),
    };
  } catch (err) {
    await destroyAll();
    throw err;
  }
}
