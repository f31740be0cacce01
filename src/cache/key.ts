// Cache keys as bytes, stored in the entry's block beside its answer (slab.ts). A key is a
// string (dns/query.ts): the lowercase wire name, one character per octet, then QTYPE, QCLASS
// and the DO/CD bits, one character each. A character below 0xff is one byte; any other (a
// QTYPE of 255 or more) is 0xff and its two octets. Storing bytes rather than the string
// keeps one V8 string per entry out of the heap.

/** FNV-1a over the key's characters: the hash table's hash (slots.ts). */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Bytes the key takes stored. */
export function keyLength(key: string): number {
  let n = key.length;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) >= 0xff) n += 2;
  return n;
}

export function writeKey(key: string, dest: Buffer, at: number): void {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0xff) {
      dest[at++] = c;
    } else {
      dest[at++] = 0xff;
      dest[at++] = c >> 8;
      dest[at++] = c & 0xff;
    }
  }
}

/** Whether the `len` bytes at `at` are this key. */
export function keyEquals(key: string, src: Buffer, at: number, len: number): boolean {
  const end = at + len;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (at >= end) return false;
    if (c < 0xff) {
      if (src[at++] !== c) return false;
    } else if (src[at] !== 0xff || src[at + 1] !== c >> 8 || src[at + 2] !== (c & 0xff)) {
      return false;
    } else {
      at += 3;
    }
  }
  return at === end;
}

/** The key stored at `at`, as a string again (for scans: deleteName). */
export function readKey(src: Buffer, at: number, len: number): string {
  const end = at + len;
  let key = '';
  while (at < end) {
    const b = src[at++]!;
    if (b < 0xff) {
      key += String.fromCharCode(b);
    } else {
      key += String.fromCharCode((src[at]! << 8) | src[at + 1]!);
      at += 2;
    }
  }
  return key;
}
