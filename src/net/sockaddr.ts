// A sender's address as the kernel writes it (struct sockaddr_in / sockaddr_in6, recvmmsg's
// msg_name; native/src/udp_batch.cc), read into the text and port Node's dgram would have
// given: the batched UDP listener builds them only when a log line or AllowFrom= asks.
//
//   sockaddr_in   family u16 (host order) | port u16 (network order) | addr[4]
//   sockaddr_in6  family u16 | port u16 | flowinfo u32 | addr[16] | scope_id u32 (host order)

const AF_INET = 2;

export function sockaddrPort(buf: Buffer, off: number): number {
  return buf.readUInt16BE(off + 2);
}

export function sockaddrAddress(buf: Buffer, off: number): string {
  if (buf.readUInt16LE(off) === AF_INET) return ipv4Text(buf, off + 4);
  const text = formatIpv6(buf.subarray(off + 8, off + 24));
  // A link-local sender carries its interface (Node appends the interface name; the index is
  // what the kernel gives us, and means the same to isIP and to a log reader with `ip link`).
  const scope = buf.readUInt32LE(off + 24);
  return scope !== 0 && buf[off + 8] === 0xfe && (buf[off + 9]! & 0xc0) === 0x80 ? `${text}%${scope}` : text;
}

function ipv4Text(buf: Buffer, at: number): string {
  return `${buf[at]!}.${buf[at + 1]!}.${buf[at + 2]!}.${buf[at + 3]!}`;
}

/**
 * 16 bytes as inet_ntop(3) and Node write them (RFC 5952): lowercase hex without leading
 * zeros, the longest run of two or more zero groups (the first of equal runs) as "::", and
 * the IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms in dotted quads.
 */
export function formatIpv6(b: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i));
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestAt = -1;
  const quad = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  if (bestAt === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
    return bestLen === 6 ? `::${quad}` : `::ffff:${quad}`;
  }
  if (bestAt < 0) return words.map((w) => w.toString(16)).join(':');
  const head = words.slice(0, bestAt).map((w) => w.toString(16)).join(':');
  const tail = words.slice(bestAt + bestLen).map((w) => w.toString(16)).join(':');
  return `${head}::${tail}`;
}
