// Reads the rtnetlink datagrams of the native helper's socket (native/src/netlink.cc) into
// events: links and addresses appearing and going, and the ends of dumps. Only what
// device-watch.ts needs is decoded; everything else in a message is skipped.
//
// Layout (netlink(7), rtnetlink(7)): a datagram holds messages, each a struct nlmsghdr and its
// payload, each padded to 4 bytes (NLMSG_ALIGN). A link message is a struct ifinfomsg and
// attributes (struct rtattr, padded to 4, RTA_ALIGN); an address message a struct ifaddrmsg
// and attributes. Integers are in host byte order: read as little-endian, the order of every
// host this runs on (x86-64, arm64).
//
// Never throws: a datagram comes from the kernel, but a parser that can be crashed by bytes is
// one bug away from taking the resolver down. A message that is cut short, or whose attributes
// do not add up, is skipped; a header whose length leaves the datagram ends the walk.

import { formatIpv6 } from './sockaddr.js';

export type NetlinkEvent =
  | {
      readonly kind: 'link';
      readonly op: 'new' | 'del';
      readonly ifindex: number;
      readonly name: string;
      /** IFLA_INFO_KIND ('vrf', 'veth', 'bridge', ...); null for devices without one (lo, a NIC). */
      readonly linkKind: string | null;
      /** IFF_UP: administratively up. */
      readonly up: boolean;
      /** IFLA_MASTER: the ifindex of the VRF or bridge this device is enslaved to. */
      readonly master: number | null;
      /** NLM_F_DUMP_INTR: the dump this message belongs to saw the list change under it. */
      readonly interrupted?: true;
    }
  | {
      readonly kind: 'addr';
      readonly op: 'new' | 'del';
      readonly ifindex: number;
      readonly family: 4 | 6;
      /** As Node writes it: "127.0.0.1", "fd00::1" (RFC 5952: lowercase, zeros compressed). */
      readonly address: string;
      readonly prefixlen: number;
      readonly interrupted?: true;
    }
  /** NLMSG_DONE: the end of the dump with this sequence number. */
  | { readonly kind: 'done'; readonly seq: number; readonly interrupted?: true }
  /**
   * NLMSG_ERROR, the kernel's answer to our request `seq`; errno is negative (-16: EBUSY), as
   * Node reports errnos, and 0 for an acknowledgement. A dump that fails after it started ends
   * with an NLMSG_DONE carrying an errno; that is reported here too.
   */
  | { readonly kind: 'error'; readonly seq: number; readonly errno: number };

// <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>
const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_DUMP_INTR = 0x10;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTATTR_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff; // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
const IFLA_IFNAME = 3;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFF_UP = 0x1;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;

const align4 = (n: number): number => (n + 3) & ~3;

/** Every event in one datagram, in order. */
export function parseNetlink(datagram: Buffer): NetlinkEvent[] {
  const events: NetlinkEvent[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.length) {
    const len = datagram.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > datagram.length - off) break; // the next header cannot be found
    const type = datagram.readUInt16LE(off + 4);
    const flags = datagram.readUInt16LE(off + 6);
    const seq = datagram.readUInt32LE(off + 8);
    const body = datagram.subarray(off + NLMSG_HDRLEN, off + len);
    const event = parseMessage(type, seq, body);
    if (event !== null) events.push((flags & NLM_F_DUMP_INTR) !== 0 && event.kind !== 'error' ? { ...event, interrupted: true } : event);
    off += align4(len);
  }
  return events;
}

function parseMessage(type: number, seq: number, body: Buffer): NetlinkEvent | null {
  switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return parseLink(type === RTM_NEWLINK ? 'new' : 'del', body);
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return parseAddr(type === RTM_NEWADDR ? 'new' : 'del', body);
    case NLMSG_DONE: {
      // The payload is the dump's result (0, or a negative errno); old kernels sent none.
      const errno = body.length >= 4 ? body.readInt32LE(0) : 0;
      return errno < 0 ? { kind: 'error', seq, errno } : { kind: 'done', seq };
    }
    case NLMSG_ERROR:
      return body.length >= 4 ? { kind: 'error', seq, errno: body.readInt32LE(0) } : null;
    default:
      return null; // NLMSG_NOOP, NLMSG_OVERRUN, and types we did not ask for
  }
}

function parseLink(op: 'new' | 'del', body: Buffer): NetlinkEvent | null {
  if (body.length < IFINFOMSG_LEN) return null;
  // Bridge port messages (family AF_BRIDGE) come through the same group for the same ifindex,
  // and an RTM_DELLINK among them means "left the bridge", not "deleted": only AF_UNSPEC
  // messages describe the device itself.
  if (body.readUInt8(0) !== AF_UNSPEC) return null;
  const ifindex = body.readInt32LE(4);
  const flags = body.readUInt32LE(8);
  const attrs = attributes(body.subarray(IFINFOMSG_LEN));
  if (ifindex <= 0 || attrs === null) return null;
  const name = attrs.get(IFLA_IFNAME);
  if (name === undefined) return null; // the kernel always names the device (rtnl_fill_ifinfo)
  const master = attrs.get(IFLA_MASTER);
  let linkKind: string | null = null;
  const info = attrs.get(IFLA_LINKINFO);
  if (info !== undefined) {
    const nested = attributes(info);
    if (nested === null) return null;
    const kind = nested.get(IFLA_INFO_KIND);
    if (kind !== undefined) linkKind = cString(kind);
  }
  return {
    kind: 'link',
    op,
    ifindex,
    name: cString(name),
    linkKind,
    up: (flags & IFF_UP) !== 0,
    master: master !== undefined && master.length >= 4 && master.readUInt32LE(0) !== 0 ? master.readUInt32LE(0) : null,
  };
}

function parseAddr(op: 'new' | 'del', body: Buffer): NetlinkEvent | null {
  if (body.length < IFADDRMSG_LEN) return null;
  const family = body.readUInt8(0);
  const prefixlen = body.readUInt8(1);
  const ifindex = body.readUInt32LE(4);
  const attrs = attributes(body.subarray(IFADDRMSG_LEN));
  if (ifindex === 0 || ifindex > 0x7fffffff || attrs === null) return null;
  // IFA_LOCAL is the address on our side. IFA_ADDRESS is the same, except with a point-to-point
  // peer, where it is the peer's (inet_fill_ifaddr, inet6_fill_ifaddr): prefer IFA_LOCAL.
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (family === AF_INET && raw !== undefined && raw.length === 4) {
    return { kind: 'addr', op, ifindex, family: 4, address: `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`, prefixlen };
  }
  if (family === AF_INET6 && raw !== undefined && raw.length === 16) {
    return { kind: 'addr', op, ifindex, family: 6, address: formatIpv6(raw), prefixlen };
  }
  return null;
}

/** The attributes of a message by type (the first of each type wins), or null when malformed. */
function attributes(buf: Buffer): Map<number, Buffer> | null {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + RTATTR_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < RTATTR_HDRLEN || len > buf.length - off) return null;
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (!out.has(type)) out.set(type, buf.subarray(off + RTATTR_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}
