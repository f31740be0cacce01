// The netlink parser (src/net/netlink.ts) on datagrams recorded from a real kernel
// (test/fixtures/netlink/*.json, made by record.mjs there), and the DeviceWatcher
// (src/net/device-watch.ts) fed those and synthesized datagrams through a fake socket.
// Kernel behaviour the recordings show, and the tests rely on:
//   - deleting a device sends RTM_NEWLINK (down), RTM_DELADDR for each address, then
//     RTM_DELLINK: 'address-removed' events come before 'gone';
//   - a device created again gets a new ifindex;
//   - leaving a bridge sends an RTM_DELLINK of family AF_BRIDGE for the port, which is not
//     the device being deleted.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { DeviceWatcher, type DeviceChange, type DeviceState, type NetlinkSource } from '../../src/net/device-watch.js';
import { parseNetlink, type NetlinkEvent } from '../../src/net/netlink.js';

// ---- recorded datagrams --------------------------------------------------------------------

interface Step {
  readonly command: string;
  readonly datagrams: Buffer[];
}

function fixture(name: string): Step[] {
  const text = readFileSync(join(__dirname, '..', 'fixtures', 'netlink', `${name}.json`), 'utf8');
  const json = JSON.parse(text) as { steps: Array<{ command: string; datagrams: string[] }> };
  return json.steps.map((s) => ({ command: s.command, datagrams: s.datagrams.map((h) => Buffer.from(h, 'hex')) }));
}

const veth = fixture('veth');
const bridge = fixture('bridge');
const dump = fixture('dump');
const allRecorded = [...veth, ...bridge, ...dump].flatMap((s) => s.datagrams);

function step(steps: Step[], command: string): Step {
  const found = steps.find((s) => s.command === command);
  if (!found) throw new Error(`no step "${command}" in the fixture`);
  return found;
}

const eventsOf = (s: Step): NetlinkEvent[] => s.datagrams.flatMap((d) => parseNetlink(d));

// ---- synthesized datagrams (same layout as the kernel's; little-endian host) ----------------

function attr(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + data.length, 0);
  head.writeUInt16LE(type, 2);
  return Buffer.concat([head, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

function nlmsg(type: number, body: Buffer, opts: { flags?: number; seq?: number } = {}): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(opts.flags ?? 0, 6);
  head.writeUInt32LE(opts.seq ?? 0, 8);
  return Buffer.concat([head, body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

interface LinkOpts {
  up?: boolean;
  kind?: string;
  family?: number;
  flags?: number;
  seq?: number;
}

function link(op: 'new' | 'del', ifindex: number, name: string, o: LinkOpts = {}): Buffer {
  const ifi = Buffer.alloc(16);
  ifi.writeUInt8(o.family ?? 0, 0);
  ifi.writeInt32LE(ifindex, 4);
  ifi.writeUInt32LE(o.up ? 0x1 | 0x40 : 0, 8);
  const attrs = [attr(3, cstr(name))];
  if (o.kind !== undefined) attrs.push(attr(18 | 0x8000, attr(1, cstr(o.kind))));
  return nlmsg(op === 'new' ? 16 : 17, Buffer.concat([ifi, ...attrs]), o);
}

function ipBytes(text: string): Buffer {
  if (!text.includes(':')) return Buffer.from(text.split('.').map(Number));
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = text.includes('::') ? groups(tail) : [];
  const words = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

function addr(op: 'new' | 'del', ifindex: number, address: string, o: { flags?: number; seq?: number } = {}): Buffer {
  const v6 = address.includes(':');
  const ifa = Buffer.alloc(8);
  ifa.writeUInt8(v6 ? 10 : 2, 0);
  ifa.writeUInt8(v6 ? 64 : 24, 1);
  ifa.writeUInt32LE(ifindex, 4);
  const bytes = ipBytes(address);
  const attrs = v6 ? [attr(1, bytes)] : [attr(1, bytes), attr(2, bytes)];
  return nlmsg(op === 'new' ? 20 : 21, Buffer.concat([ifa, ...attrs]), o);
}

const done = (seq = 0, errno = 0, flags = 2): Buffer => nlmsg(3, u32(errno >>> 0), { seq, flags });
const nlerror = (seq: number, errno: number): Buffer => nlmsg(2, Buffer.concat([u32(errno >>> 0), Buffer.alloc(16)]), { seq });
const NLM_F_DUMP_INTR = 0x10;

// ---- the parser ------------------------------------------------------------------------------

describe('parseNetlink on recorded datagrams (rtnetlink(7))', () => {
  it('a veth pair created: RTM_NEWLINK for both ends, kind veth, down', () => {
    expect(eventsOf(step(veth, 'ip link add dev vx0 type veth peer name vx1'))).toEqual([
      { kind: 'link', op: 'new', ifindex: 2, name: 'vx1', linkKind: 'veth', up: false, master: null },
      { kind: 'link', op: 'new', ifindex: 3, name: 'vx0', linkKind: 'veth', up: false, master: null },
    ]);
  });

  it('addresses: IPv4 from IFA_LOCAL, IPv6 in Node\'s text form, with the prefix length', () => {
    expect(eventsOf(step(veth, 'ip addr add 127.0.0.1/8 dev vx0'))).toEqual([
      { kind: 'addr', op: 'new', ifindex: 3, family: 4, address: '127.0.0.1', prefixlen: 8 },
    ]);
    expect(eventsOf(step(veth, 'ip -6 addr add fd00::1/64 dev vx0 nodad'))).toEqual([
      { kind: 'addr', op: 'new', ifindex: 3, family: 6, address: 'fd00::1', prefixlen: 64 },
    ]);
    expect(eventsOf(step(veth, 'ip addr del 127.0.0.1/8 dev vx0'))).toEqual([
      { kind: 'addr', op: 'del', ifindex: 3, family: 4, address: '127.0.0.1', prefixlen: 8 },
    ]);
  });

  it('a point-to-point IPv4 address is our IFA_LOCAL, not the peer in IFA_ADDRESS', () => {
    expect(eventsOf(step(veth, 'ip addr add 10.9.0.1 peer 10.9.0.2 dev vx0'))).toEqual([
      { kind: 'addr', op: 'new', ifindex: 3, family: 4, address: '10.9.0.1', prefixlen: 32 },
    ]);
  });

  it('IFF_UP in ifi_flags is `up`', () => {
    expect(eventsOf(step(veth, 'ip link set vx0 up'))).toEqual([
      { kind: 'link', op: 'new', ifindex: 3, name: 'vx0', linkKind: 'veth', up: true, master: null },
    ]);
  });

  it('deleting a device: RTM_NEWLINK (down), RTM_DELADDR for each address, then RTM_DELLINK', () => {
    const events = eventsOf(step(veth, 'ip link del vx0')).filter((e) => e.kind !== 'link' || e.ifindex === 3);
    expect(events.map((e) => (e.kind === 'addr' || e.kind === 'link' ? `${e.kind} ${e.op} ${e.ifindex}` : e.kind))).toEqual([
      'link new 3', 'addr del 3', 'addr del 3', 'addr del 2', 'addr del 3', 'link del 3',
    ]);
    expect(events).toContainEqual({ kind: 'addr', op: 'del', ifindex: 3, family: 4, address: '10.9.0.1', prefixlen: 32 });
  });

  it('a device created again has a new ifindex; a rename is RTM_NEWLINK with the new name', () => {
    expect(eventsOf(veth.filter((s) => s.command === 'ip link add dev vx0 type veth peer name vx1')[1] as Step)).toEqual([
      { kind: 'link', op: 'new', ifindex: 4, name: 'vx1', linkKind: 'veth', up: false, master: null },
      { kind: 'link', op: 'new', ifindex: 5, name: 'vx0', linkKind: 'veth', up: false, master: null },
    ]);
    expect(eventsOf(step(veth, 'ip link set vx0 name vx2'))).toEqual([
      { kind: 'link', op: 'new', ifindex: 5, name: 'vx2', linkKind: 'veth', up: false, master: null },
    ]);
  });

  it('IFLA_MASTER names the master; AF_BRIDGE port messages (a DELLINK on leaving) are skipped', () => {
    const enslaved = eventsOf(step(bridge, 'ip link set vx0 nomaster'));
    expect(enslaved.every((e) => e.kind === 'link' && e.op === 'new')).toBe(true);
    expect(step(bridge, 'ip link set vx0 nomaster').datagrams.length).toBeGreaterThan(enslaved.length);
    expect(eventsOf(bridge[2] as Step)).toContainEqual({ kind: 'link', op: 'new', ifindex: 8, name: 'vx0', linkKind: 'veth', up: false, master: 6 });
    expect(eventsOf(step(bridge, 'ip link add nlifb0 type ifb'))).toEqual([
      { kind: 'link', op: 'new', ifindex: 9, name: 'nlifb0', linkKind: 'ifb', up: false, master: null },
    ]);
  });

  it('dump replies: every link, then every address of both families, each ending in NLMSG_DONE', () => {
    const links = eventsOf(step(dump, 'dump link'));
    expect(links).toEqual([
      { kind: 'link', op: 'new', ifindex: 1, name: 'lo', linkKind: null, up: true, master: null },
      { kind: 'link', op: 'new', ifindex: 10, name: 'nlbr0', linkKind: 'bridge', up: false, master: null },
      { kind: 'link', op: 'new', ifindex: 11, name: 'vx1', linkKind: 'veth', up: false, master: null },
      { kind: 'link', op: 'new', ifindex: 12, name: 'vx0', linkKind: 'veth', up: false, master: 10 },
      { kind: 'done', seq: 1 },
    ]);
    const addrs = eventsOf(step(dump, 'dump addr'));
    expect(addrs.at(-1)).toEqual({ kind: 'done', seq: 2 });
    expect(addrs.filter((e) => e.kind === 'addr').map((e) => e.kind === 'addr' && `${e.ifindex} ${e.address}/${e.prefixlen}`)).toEqual([
      '1 127.0.0.1/8', '10 127.0.0.1/8', '12 10.9.0.1/24', '1 ::1/128', '10 fd00::53/128', '12 2001:db8::10/64',
    ]);
  });
});

describe('parseNetlink on synthesized messages', () => {
  it('NLMSG_ERROR carries the negative errno of our request (EBUSY: a dump already runs)', () => {
    expect(parseNetlink(nlerror(7, -16))).toEqual([{ kind: 'error', seq: 7, errno: -16 }]);
    expect(parseNetlink(nlerror(8, 0))).toEqual([{ kind: 'error', seq: 8, errno: 0 }]);
  });

  it('an NLMSG_DONE with a negative errno is a failed dump', () => {
    expect(parseNetlink(done(3, -4))).toEqual([{ kind: 'error', seq: 3, errno: -4 }]);
    expect(parseNetlink(nlmsg(3, Buffer.alloc(0), { seq: 4 }))).toEqual([{ kind: 'done', seq: 4 }]); // no payload (old kernels)
  });

  it('NLM_F_DUMP_INTR marks the events of an inconsistent dump', () => {
    expect(parseNetlink(Buffer.concat([link('new', 4, 'x', { flags: 2 | NLM_F_DUMP_INTR }), done(9, 0, 2 | NLM_F_DUMP_INTR)]))).toEqual([
      { kind: 'link', op: 'new', ifindex: 4, name: 'x', linkKind: null, up: false, master: null, interrupted: true },
      { kind: 'done', seq: 9, interrupted: true },
    ]);
  });

  it('several messages in one datagram, in order; unknown message types are skipped', () => {
    const d = Buffer.concat([link('new', 5, 'a'), nlmsg(1, Buffer.alloc(0)), nlmsg(24, Buffer.alloc(12)), addr('del', 5, 'fd00::2')]);
    expect(parseNetlink(d).map((e) => e.kind)).toEqual(['link', 'addr']);
  });

  it('IFLA_LINKINFO is read whether or not NLA_F_NESTED is set', () => {
    const ifi = Buffer.alloc(16);
    ifi.writeInt32LE(6, 4);
    const plain = nlmsg(16, Buffer.concat([ifi, attr(3, cstr('v')), attr(18, attr(1, cstr('vrf')))]));
    expect(parseNetlink(plain)).toEqual([{ kind: 'link', op: 'new', ifindex: 6, name: 'v', linkKind: 'vrf', up: false, master: null }]);
  });

  it('skips messages it cannot trust: no name, bad attribute lengths, wrong address length', () => {
    const ifi = Buffer.alloc(16);
    ifi.writeInt32LE(6, 4);
    const nameless = nlmsg(16, ifi);
    const badAttr = nlmsg(16, Buffer.concat([ifi, Buffer.from([0xff, 0x00, 0x03, 0x00, 0x61, 0, 0, 0])]));
    const ifa = Buffer.alloc(8);
    ifa.writeUInt8(2, 0);
    ifa.writeUInt32LE(6, 4);
    const shortAddr = nlmsg(20, Buffer.concat([ifa, attr(2, Buffer.from([127, 0, 0]))]));
    expect(parseNetlink(Buffer.concat([nameless, badAttr, shortAddr, link('new', 7, 'ok')]))).toEqual([
      { kind: 'link', op: 'new', ifindex: 7, name: 'ok', linkKind: null, up: false, master: null },
    ]);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        parseNetlink(Buffer.from(bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws on recorded datagrams with bytes changed, and returns well-formed events', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...allRecorded),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (original, edits) => {
          const d = Buffer.from(original);
          for (const [at, value] of edits) d[at % d.length] = value;
          for (const e of parseNetlink(d)) {
            if (e.kind === 'link') expect(e.ifindex).toBeGreaterThan(0);
            if (e.kind === 'addr') expect(net.isIP(e.address)).toBe(e.family);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('a datagram cut anywhere gives the events of the messages before the cut', () => {
    for (const d of allRecorded) {
      const full = parseNetlink(d);
      for (let n = 0; n <= d.length; n += n < 64 ? 1 : 7) {
        const got = parseNetlink(d.subarray(0, n));
        expect(full.slice(0, got.length)).toEqual(got);
      }
    }
  });
});


// ---- the watcher -----------------------------------------------------------------------------

class FakeNetlink implements NetlinkSource {
  readonly dumps: Array<'link' | 'addr'> = [];
  closes = 0;
  failNextDump: Error | null = null;
  onData: (err: { code?: string } | null, datagrams: Buffer[]) => void = () => {};

  dump(what: 'link' | 'addr'): void {
    if (this.failNextDump) {
      const e = this.failNextDump;
      this.failNextDump = null;
      throw e;
    }
    this.dumps.push(what);
  }

  close(): void {
    this.closes += 1;
  }

  feed(...datagrams: Buffer[]): void {
    this.onData(null, datagrams);
  }

  lose(): void {
    this.onData({ code: 'ENOBUFS' }, []);
  }
}

interface Harness {
  watcher: DeviceWatcher;
  fake: FakeNetlink;
  changes: DeviceChange[];
  states: DeviceState[];
  clock: ManualClock;
  logs: string[];
}

/** A watcher on a fake socket; `listener` replaces the one that records changes and states. */
function harness(device: string, listener?: (change: DeviceChange) => void): Harness {
  const fake = new FakeNetlink();
  const changes: DeviceChange[] = [];
  const states: DeviceState[] = [];
  const clock = new ManualClock();
  const logs: string[] = [];
  const watcher = new DeviceWatcher(
    device,
    listener ??
      ((change, state) => {
        changes.push(change);
        states.push(state);
      }),
    (onData) => {
      fake.onData = onData;
      return fake;
    },
    { clock, log: (m) => logs.push(m) },
  );
  return { watcher, fake, changes, states, clock, logs };
}

/** A started watcher whose first dump found `links` and `addrs` (synthesized datagrams). */
async function started(device: string, links: Buffer[] = [], addrs: Buffer[] = []): Promise<Harness> {
  const h = harness(device);
  const state = h.watcher.start();
  h.fake.feed(...links, done(1));
  h.fake.feed(...addrs, done(2));
  await state;
  return h;
}

const lo = link('new', 1, 'lo', { up: true });
const addresses = (s: DeviceState): string[] => [...s.addresses].sort();

describe('DeviceWatcher', () => {
  it('start() dumps links, then (after NLMSG_DONE) addresses, and resolves with the state', async () => {
    const h = harness('nlbr0');
    const state = h.watcher.start();
    expect(h.fake.dumps).toEqual(['link']);
    h.fake.feed(...step(dump, 'dump link').datagrams);
    expect(h.fake.dumps).toEqual(['link', 'addr']);
    h.fake.feed(...step(dump, 'dump addr').datagrams);
    const s = await state;
    expect(s).toEqual({ name: 'nlbr0', ifindex: 10, up: false, kind: 'bridge', addresses: new Set(['127.0.0.1', 'fd00::53']) });
    expect(h.watcher.state()).toEqual(s);
    expect(h.changes).toEqual([]); // the first state is returned, not announced
  });

  it('start() on a device that does not exist yet: ifindex null, no addresses', async () => {
    const h = await started('vx0', [lo], [addr('new', 1, '127.0.0.1')]);
    expect(h.watcher.state()).toEqual({ name: 'vx0', ifindex: null, up: false, kind: null, addresses: new Set() });
  });

  it('follows a veth through the recorded life of vx0', async () => {
    const h = await started('vx0', [lo]);
    const after = (command: string, nth = 0): DeviceChange[] => {
      const before = h.changes.length;
      h.fake.feed(...(veth.filter((s) => s.command === command)[nth] as Step).datagrams);
      return h.changes.slice(before);
    };
    expect(after('ip link add dev vx0 type veth peer name vx1')).toEqual([{ type: 'appeared', ifindex: 3 }]);
    expect(after('ip addr add 127.0.0.1/8 dev vx0')).toEqual([{ type: 'address-added', address: '127.0.0.1' }]);
    expect(after('ip -6 addr add fd00::1/64 dev vx0 nodad')).toEqual([{ type: 'address-added', address: 'fd00::1' }]);
    expect(after('ip link set vx0 up')).toEqual([]); // flags only
    expect(h.watcher.state().up).toBe(true);
    expect(after('ip link set vx1 up')).toEqual([]);
    expect(after('ip addr add 10.9.0.1 peer 10.9.0.2 dev vx0')).toEqual([{ type: 'address-added', address: '10.9.0.1' }]);
    expect(after('ip addr del 127.0.0.1/8 dev vx0')).toEqual([{ type: 'address-removed', address: '127.0.0.1' }]);
    // The kernel removes the addresses first (the link-local one we never saw added is ignored).
    expect(after('ip link del vx0')).toEqual([
      { type: 'address-removed', address: 'fd00::1' },
      { type: 'address-removed', address: '10.9.0.1' },
      { type: 'gone', ifindex: 3 },
    ]);
    expect(h.watcher.state()).toEqual({ name: 'vx0', ifindex: null, up: false, kind: null, addresses: new Set() });
    expect(after('ip link add dev vx0 type veth peer name vx1', 1)).toEqual([{ type: 'appeared', ifindex: 5 }]);
    expect(h.watcher.state()).toMatchObject({ ifindex: 5, kind: 'veth', up: false });
    expect(after('ip link set vx0 name vx2')).toEqual([{ type: 'gone', ifindex: 5 }]); // renamed away
    expect(after('ip link del vx2')).toEqual([]);
  });

  it('passes the state as it is after each change', async () => {
    const h = await started('vx0', [lo]);
    h.fake.feed(...veth.slice(0, 3).flatMap((s) => s.datagrams));
    expect(h.states.map((s) => [s.ifindex, addresses(s)])).toEqual([
      [3, []],
      [3, ['127.0.0.1']],
      [3, ['127.0.0.1', 'fd00::1']],
    ]);
  });

  it('a bridge port leaving its master (AF_BRIDGE RTM_DELLINK) is not "gone"', async () => {
    const h = await started('vx0', [lo]);
    for (const s of bridge.slice(0, -1)) h.fake.feed(...s.datagrams);
    expect(h.changes).toEqual([{ type: 'appeared', ifindex: 8 }]);
    h.fake.feed(...(bridge.at(-1) as Step).datagrams); // ip link del vx0
    expect(h.changes).toEqual([{ type: 'appeared', ifindex: 8 }, { type: 'gone', ifindex: 8 }]);
  });

  it('our name with another ifindex, the old never deleted: gone (old), then appeared (new)', async () => {
    const h = await started('mgmt', [lo, link('new', 4, 'mgmt', { kind: 'vrf', up: true })], [addr('new', 4, '127.0.0.1')]);
    h.fake.feed(link('new', 9, 'mgmt', { kind: 'vrf' }));
    expect(h.changes).toEqual([{ type: 'gone', ifindex: 4 }, { type: 'appeared', ifindex: 9 }]);
    expect(h.watcher.state()).toEqual({ name: 'mgmt', ifindex: 9, up: false, kind: 'vrf', addresses: new Set() });
  });

  it('another device renamed to our name appears; addresses of other devices are ignored', async () => {
    const h = await started('mgmt', [lo, link('new', 4, 'blue', { kind: 'vrf' })]);
    h.fake.feed(addr('new', 4, '127.0.0.1'), link('new', 4, 'mgmt', { kind: 'vrf' }), addr('new', 1, '::1'), addr('new', 4, '::1'));
    expect(h.changes).toEqual([{ type: 'appeared', ifindex: 4 }, { type: 'address-added', address: '::1' }]);
  });

  it('a repeated RTM_NEWADDR (flags, lifetimes) or an unknown RTM_DELADDR announces nothing', async () => {
    const h = await started('mgmt', [link('new', 4, 'mgmt')], [addr('new', 4, '127.0.0.1')]);
    h.fake.feed(addr('new', 4, '127.0.0.1'), addr('del', 4, '10.0.0.1'), link('new', 4, 'mgmt', { up: true }));
    expect(h.changes).toEqual([]);
    expect(h.watcher.state().up).toBe(true);
  });

  it('events during the first dump are applied in order with it', async () => {
    const h = harness('mgmt');
    const state = h.watcher.start();
    // The dump lists mgmt as ifindex 4; before its NLMSG_DONE, events say it was deleted and
    // created again as 6 with an address.
    h.fake.feed(link('new', 4, 'mgmt', { flags: 2 }), link('del', 4, 'mgmt'), link('new', 6, 'mgmt'), done(1));
    h.fake.feed(addr('new', 6, '127.0.0.1'), done(2));
    expect(await state).toMatchObject({ ifindex: 6, addresses: new Set(['127.0.0.1']) });
    expect(h.changes).toEqual([]);
  });

  describe('lost events (ENOBUFS): dump again and announce the differences', () => {
    it('the same device with other addresses', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')], [addr('new', 4, '127.0.0.1'), addr('new', 4, 'fd00::53')]);
      h.fake.lose();
      expect(h.fake.dumps).toEqual(['link', 'addr', 'link']);
      h.fake.feed(link('new', 4, 'mgmt', { up: true }), done(3));
      h.fake.feed(addr('new', 4, '127.0.0.1'), addr('new', 4, '192.0.2.1'), done(4));
      expect(h.changes).toEqual([
        { type: 'address-removed', address: 'fd00::53' },
        { type: 'address-added', address: '192.0.2.1' },
        { type: 'resynced' },
      ]);
      expect(h.watcher.state()).toEqual({ name: 'mgmt', ifindex: 4, up: true, kind: null, addresses: new Set(['127.0.0.1', '192.0.2.1']) });
    });

    it('the device re-created meanwhile: gone, appeared, its addresses, resynced', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')], [addr('new', 4, '127.0.0.1')]);
      h.fake.lose();
      h.fake.feed(lo, link('new', 7, 'mgmt', { kind: 'vrf' }), done(3));
      h.fake.feed(addr('new', 1, '127.0.0.1'), addr('new', 7, '127.0.0.1'), addr('new', 7, '::1'), done(4));
      expect(h.changes).toEqual([
        { type: 'gone', ifindex: 4 },
        { type: 'appeared', ifindex: 7 },
        { type: 'address-added', address: '127.0.0.1' },
        { type: 'address-added', address: '::1' },
        { type: 'resynced' },
      ]);
      expect(h.states.map((s) => [s.ifindex, addresses(s)])).toEqual([
        [null, []],
        [7, []],
        [7, ['127.0.0.1']],
        [7, ['127.0.0.1', '::1']],
        [7, ['127.0.0.1', '::1']],
      ]);
    });

    it('the device deleted meanwhile: gone, resynced; nothing changed: only resynced', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')], [addr('new', 4, '127.0.0.1')]);
      h.fake.lose();
      h.fake.feed(lo, done(3));
      h.fake.feed(done(4));
      expect(h.changes).toEqual([{ type: 'gone', ifindex: 4 }, { type: 'resynced' }]);
      h.fake.lose();
      h.fake.feed(lo, done(5));
      h.fake.feed(done(6));
      expect(h.changes.slice(2)).toEqual([{ type: 'resynced' }]);
    });

    it('events lost during the dump: it is not trusted, and is repeated after a short wait', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')]);
      h.fake.lose();
      h.fake.feed(lo);
      h.fake.lose(); // while the link dump runs
      h.fake.feed(done(3));
      h.fake.feed(done(4));
      expect(h.changes).toEqual([]);
      expect(h.fake.dumps).toEqual(['link', 'addr', 'link', 'addr']);
      h.clock.advance(50);
      expect(h.fake.dumps).toEqual(['link', 'addr', 'link', 'addr', 'link']);
      h.fake.feed(link('new', 4, 'mgmt'), done(5));
      h.fake.feed(done(6));
      expect(h.changes).toEqual([{ type: 'resynced' }]);
      expect(h.logs.length).toBeGreaterThan(0);
    });

    it('events that arrive while the new dump runs are folded into it, in order', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')], [addr('new', 4, '127.0.0.1')]);
      h.fake.lose();
      // The link dump lists mgmt; then events: an address added, the old one removed.
      h.fake.feed(link('new', 4, 'mgmt', { flags: 2 }), addr('new', 4, '::1'), done(3));
      h.fake.feed(addr('new', 4, '127.0.0.1', { flags: 2 }), addr('new', 4, '::1', { flags: 2 }), addr('del', 4, '127.0.0.1'), done(4));
      expect(h.changes).toEqual([
        { type: 'address-removed', address: '127.0.0.1' },
        { type: 'address-added', address: '::1' },
        { type: 'resynced' },
      ]);
    });

    it('NLM_F_DUMP_INTR (the list changed under the dump) makes it repeat', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')]);
      h.fake.lose();
      h.fake.feed(link('new', 4, 'mgmt', { flags: 2 | NLM_F_DUMP_INTR }), done(3));
      h.fake.feed(done(4));
      h.clock.advance(50);
      expect(h.fake.dumps.filter((d) => d === 'link')).toHaveLength(3);
    });
  });

  describe('failed dumps are retried, bounded', () => {
    it('an error reply (EBUSY) is retried after 50, 100, 200 ... ms, at most 1 s apart', async () => {
      const h = harness('mgmt');
      const state = h.watcher.start();
      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        h.fake.feed(nlerror(i + 1, -16));
        const before = h.fake.dumps.length;
        let waited = 0;
        while (h.fake.dumps.length === before && waited < 5_000) {
          h.clock.advance(10);
          waited += 10;
        }
        delays.push(waited);
      }
      expect(delays).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
      expect(h.fake.dumps.every((d) => d === 'link')).toBe(true);
      // Finally it works: the delay starts over, and start() resolves.
      h.fake.feed(done(9));
      h.fake.feed(done(10));
      await expect(state).resolves.toMatchObject({ ifindex: null });
    });

    it('dump() throwing (sendto) is retried the same way, and only one retry is pending', async () => {
      const h = await started('mgmt', [link('new', 4, 'mgmt')]);
      h.fake.failNextDump = Object.assign(new Error('sendto ENOBUFS'), { code: 'ENOBUFS' });
      h.fake.lose();
      h.fake.lose(); // while the retry is pending: no second dump, no second timer
      h.fake.lose();
      expect(h.fake.dumps).toEqual(['link', 'addr']);
      h.clock.advance(49);
      expect(h.fake.dumps).toEqual(['link', 'addr']);
      h.clock.advance(1);
      expect(h.fake.dumps).toEqual(['link', 'addr', 'link']);
      h.clock.advance(10_000);
      expect(h.fake.dumps).toEqual(['link', 'addr', 'link']);
    });
  });

  describe('open and close', () => {
    it('start() rejects with the error of opening', async () => {
      const err = Object.assign(new Error('socket EMFILE'), { code: 'EMFILE' });
      const w = new DeviceWatcher('mgmt', () => {}, () => {
        throw err;
      });
      await expect(w.start()).rejects.toBe(err);
      w.close();
    });

    it('close() before the state is known rejects start(); close twice is fine; nothing after close', async () => {
      const h = harness('mgmt');
      const state = h.watcher.start();
      h.watcher.close();
      h.watcher.close();
      await expect(state).rejects.toThrow(/closed/);
      expect(h.fake.closes).toBe(1);
      h.fake.feed(link('new', 4, 'mgmt'), done(1));
      expect(h.changes).toEqual([]);
    });

    it('close() cancels a pending retry and stops announcing, even in the middle of a batch', async () => {
      const h = await started('mgmt');
      h.fake.feed(nlerror(1, -16)); // no dump running: ignored
      h.fake.lose();
      h.fake.feed(nlerror(3, -16)); // the resync failed: a retry is pending
      h.watcher.close();
      h.clock.advance(10_000);
      expect(h.fake.dumps).toEqual(['link', 'addr', 'link']);

      const seen: DeviceChange[] = [];
      const { watcher: w, fake } = harness('mgmt', (c) => {
        seen.push(c);
        w.close();
      });
      const s = w.start();
      fake.feed(done(1));
      fake.feed(done(2));
      await s;
      fake.feed(link('new', 4, 'mgmt'), addr('new', 4, '127.0.0.1'));
      expect(seen).toEqual([{ type: 'appeared', ifindex: 4 }]);
      expect(fake.closes).toBe(1);
    });

    it('a throwing listener does not stop the batch; the first error is thrown after it', async () => {
      const seen: string[] = [];
      const { watcher: w, fake } = harness('mgmt', (c) => {
        seen.push(c.type);
        throw new Error(`listener failed on ${c.type}`);
      });
      const s = w.start();
      fake.feed(done(1));
      fake.feed(done(2));
      await s;
      expect(() => fake.feed(link('new', 4, 'mgmt'), addr('new', 4, '127.0.0.1'))).toThrow('listener failed on appeared');
      expect(seen).toEqual(['appeared', 'address-added']);
      expect(w.state().addresses).toEqual(new Set(['127.0.0.1']));
    });
  });

  it('garbage datagrams never throw and change nothing', async () => {
    const h = await started('mgmt', [link('new', 4, 'mgmt')], [addr('new', 4, '127.0.0.1')]);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }), (chunks) => {
        h.fake.feed(...chunks.map((c) => Buffer.from(c)));
      }),
      { numRuns: 1_000 },
    );
    expect(h.changes).toEqual([]);
    expect(h.watcher.state()).toMatchObject({ ifindex: 4, addresses: new Set(['127.0.0.1']) });
  });
});
