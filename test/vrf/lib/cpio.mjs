// A minimal writer for the "newc" cpio format the kernel unpacks as an initramfs.
// Written here so the lab needs no cpio binary on the host and can create /dev/console
// without being root.

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n) {
  return n.toString(16).padStart(8, '0');
}

function pad4(len) {
  return (4 - (len % 4)) % 4;
}

export class CpioWriter {
  constructor() {
    this.parts = [];
    this.ino = 1;
  }

  #entry(name, mode, data = Buffer.alloc(0), { rdevMajor = 0, rdevMinor = 0, nlink = 1 } = {}) {
    const nameBuf = Buffer.from(`${name}\0`);
    const header =
      '070701' +
      hex8(this.ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(nlink) +
      hex8(0) + // mtime: fixed, so the same inputs give the same archive
      hex8(data.length) +
      hex8(0) +
      hex8(0) +
      hex8(rdevMajor) +
      hex8(rdevMinor) +
      hex8(nameBuf.length) +
      hex8(0);
    this.parts.push(Buffer.from(header, 'ascii'), nameBuf, Buffer.alloc(pad4(110 + nameBuf.length)));
    if (data.length > 0) this.parts.push(data, Buffer.alloc(pad4(data.length)));
  }

  dir(name, perm = 0o755) {
    this.#entry(name, S_IFDIR | perm, undefined, { nlink: 2 });
  }

  file(name, data, perm = 0o644) {
    this.#entry(name, S_IFREG | perm, Buffer.isBuffer(data) ? data : Buffer.from(data));
  }

  symlink(name, target) {
    this.#entry(name, S_IFLNK | 0o777, Buffer.from(target));
  }

  charDevice(name, major, minor, perm = 0o600) {
    this.#entry(name, S_IFCHR | perm, undefined, { rdevMajor: major, rdevMinor: minor });
  }

  finish() {
    this.#entry('TRAILER!!!', 0);
    const out = Buffer.concat(this.parts);
    // The kernel wants the archive padded to a 512-byte block; harmless and conventional.
    return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
  }
}
