// How setup changes the host: doctor's HostIo (run a command, read a file) plus the writes.
// A file is replaced atomically (a temporary file in the same directory, then rename), so
// /etc/resolv.conf is never seen half-written, and a symlink in its place is replaced, not
// followed.

import { chmod, lstat, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { realHostIo, type HostIo } from '../host/io.js';

export interface SetupIo extends HostIo {
  uid(): number;
  /** The permission bits of a file (lstat). */
  mode(path: string): Promise<number>;
  /** Writes text to path atomically with this mode, creating the directory (0755) when missing. */
  writeFile(path: string, text: string, mode: number): Promise<void>;
  /** Makes path a symlink to target, replacing what is there. */
  symlink(path: string, target: string): Promise<void>;
  /** Removes a file or symlink; no error when it is gone. */
  remove(path: string): Promise<void>;
}

const tmpOf = (path: string): string => `${dirname(path)}/.${path.slice(dirname(path).length + 1)}.vrf-resolver-${process.pid}`;

export const realSetupIo: SetupIo = {
  ...realHostIo,
  uid: () => process.getuid?.() ?? -1,
  mode: async (path) => (await lstat(path)).mode & 0o7777,
  async writeFile(path, text, mode) {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = tmpOf(path);
    try {
      await writeFile(tmp, text, { mode });
      await chmod(tmp, mode); // the umask narrowed it
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  },
  async symlink(path, target) {
    const tmp = tmpOf(path);
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, path);
  },
  remove: (path) => rm(path, { force: true }),
};
