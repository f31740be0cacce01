// Host-side preparation for the VRF lab: Debian packages, the cached guest kernel and its
// modules, the cached initramfs, and a probe that qemu can run at all.
//
// Nothing here touches the host's network, /etc/resolv.conf or installed kernels: the guest
// kernel is downloaded with `apt-get download` and unpacked with `dpkg -x` into the cache.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CpioWriter } from './cpio.mjs';

// Debian packages the host needs. The guest runs on the host's root filesystem (shared
// read-only over 9p), so everything the guest scenarios use is installed here too.
export const HOST_PACKAGES = [
  'qemu-system-x86', // qemu-system-x86_64 (TCG)
  'busybox-static', // the initramfs' only binary; httpd and modprobe in the guest
  'dnsmasq-base', // the upstream DNS servers inside the guest
  'bind9-dnsutils', // dig
  'iproute2', // ip vrf / ip netns
  'xz-utils', // unpacks vmlinux out of vmlinuz
];

// Modules the initramfs loads, in dependency order, to mount the host root over 9p and put an
// overlay on it. Resolved against modules.dep so a kernel update cannot silently break it.
const INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];
// Loaded only by the boots whose overlay upper layer is a disk image (the seed scenario's two
// boots): the virtio disk and ext4. crc32c_generic is no modules.dep dependency of ext4, but
// ext4 (metadata_csum) and jbd2 ask the crypto API for "crc32c" at mount time.
const INITRAMFS_DISK_MODULES = ['virtio_blk', 'crc32c_generic', 'ext4'];

// Module folders of the guest kernel that the lab never needs (no such hardware in the VM).
const PRUNED_MODULE_DIRS = [
  'sound',
  'drivers/gpu',
  'drivers/media',
  'drivers/infiniband',
  'drivers/iio',
  'drivers/staging',
  'drivers/net/wireless',
  'drivers/net/ethernet',
  'drivers/bluetooth',
  'drivers/scsi',
  'drivers/usb',
  'net/wireless',
  'net/mac80211',
  'net/bluetooth',
];

export function log(msg) {
  process.stderr.write(`[vrf-lab] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

function mustRun(cmd, args, opts = {}) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return r;
}

function isInstalled(pkg) {
  const r = run('dpkg-query', ['-W', '-f=${Status}', pkg]);
  return r.status === 0 && /install ok installed/.test(r.stdout);
}

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const APT_OPTS = ['-o', 'DPkg::Lock::Timeout=600', '-o', 'APT::Sandbox::User=root'];
let aptUpdated = false;

function aptUpdate() {
  if (aptUpdated) return;
  log('apt-get update');
  mustRun('apt-get', [...APT_OPTS, '-qq', 'update'], { env: APT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  aptUpdated = true;
}

export function ensurePackages() {
  const missing = HOST_PACKAGES.filter((p) => !isInstalled(p));
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new Error(`missing packages ${missing.join(' ')} and not root to install them`);
  aptUpdate();
  log(`apt-get install ${missing.join(' ')}`);
  const r = run('apt-get', [...APT_OPTS, '-y', '-qq', '--no-install-recommends', 'install', ...missing], {
    env: APT_ENV,
  });
  if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return missing;
}

// ---- kernel ---------------------------------------------------------------------------

function kernelPackageName() {
  // linux-image-amd64 is a metapackage; its Depends names the real, versioned image package.
  const query = () => run('apt-cache', ['depends', 'linux-image-amd64']).stdout ?? '';
  let out = query();
  let m = out.match(/Depends:\s*(linux-image-[0-9][^\s]*-amd64)/);
  if (!m) {
    aptUpdate();
    out = query();
    m = out.match(/Depends:\s*(linux-image-[0-9][^\s]*-amd64)/);
  }
  if (!m) throw new Error(`cannot find the kernel package behind linux-image-amd64:\n${out}`);
  return m[1];
}

/** Unpack the uncompressed ELF vmlinux (it has a PVH entry qemu can boot directly) from a bzImage. */
function extractVmlinux(vmlinuz, out) {
  const img = fs.readFileSync(vmlinuz);
  // Same idea as the kernel's scripts/extract-vmlinux: find a compressed stream and try it.
  const candidates = [
    { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), cmd: 'xz', args: ['-dc'] },
    { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), cmd: 'zstd', args: ['-dc'] },
    { magic: Buffer.from([0x1f, 0x8b, 0x08]), cmd: 'gzip', args: ['-dc'] },
  ];
  for (const { magic, cmd, args } of candidates) {
    let at = img.indexOf(magic);
    while (at >= 0) {
      // Trailing bytes after the stream make the decompressor complain; the output is whole.
      const r = spawnSync(cmd, args, { input: img.subarray(at), maxBuffer: 1 << 30 });
      const elf = r.stdout;
      if (elf && elf.length > 1 << 20 && elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
        fs.writeFileSync(out, elf);
        return;
      }
      at = img.indexOf(magic, at + 1);
    }
  }
  throw new Error(`could not find an ELF vmlinux inside ${vmlinuz}`);
}

function findCachedKernel(kernelsDir) {
  if (!fs.existsSync(kernelsDir)) return null;
  const kvers = fs
    .readdirSync(kernelsDir)
    .filter((d) => fs.existsSync(path.join(kernelsDir, d, '.complete')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (kvers.length === 0) return null;
  const kver = kvers[kvers.length - 1];
  return kernelInfo(kernelsDir, kver);
}

function kernelInfo(kernelsDir, kver) {
  const root = path.join(kernelsDir, kver);
  return { kver, root, vmlinux: path.join(root, 'vmlinux'), modules: path.join(root, 'lib/modules', kver) };
}

export function ensureKernel(cacheDir, { refresh = false } = {}) {
  const kernelsDir = path.join(cacheDir, 'kernel');
  if (!refresh) {
    const cached = findCachedKernel(kernelsDir);
    if (cached) return { ...cached, fresh: false };
  }
  let pkg = kernelPackageName();
  const dl = path.join(cacheDir, 'download');
  fs.rmSync(dl, { recursive: true, force: true });
  fs.mkdirSync(dl, { recursive: true });
  log(`apt-get download ${pkg}`);
  const download = () => run('apt-get', [...APT_OPTS, '-qq', 'download', pkg], { cwd: dl, env: APT_ENV });
  let r = download();
  if (r.status !== 0 && !aptUpdated) {
    // Stale package lists name a kernel the mirror no longer has: refresh them and retry.
    aptUpdate();
    pkg = kernelPackageName();
    log(`apt-get download ${pkg} (after apt-get update)`);
    r = download();
  }
  if (r.status !== 0) throw new Error(`apt-get download ${pkg} failed:\n${r.stdout}${r.stderr}`);
  const kver = pkg.replace(/^linux-image-/, '');
  const deb = fs.readdirSync(dl).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${dl}`);

  const tmp = path.join(kernelsDir, `.tmp-${kver}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  log(`dpkg -x ${deb}`);
  mustRun('dpkg', ['-x', path.join(dl, deb), tmp]);
  fs.rmSync(path.join(tmp, 'usr'), { recursive: true, force: true }); // docs and the like only

  // Hardware the VM never has: dropping it halves the cache (~200 MB less).
  const kmod = path.join(tmp, 'lib/modules', kver, 'kernel');
  for (const d of PRUNED_MODULE_DIRS) fs.rmSync(path.join(kmod, d), { recursive: true, force: true });

  const vmlinuz = path.join(tmp, 'boot', `vmlinuz-${kver}`);
  log('extracting vmlinux from vmlinuz');
  extractVmlinux(vmlinuz, path.join(tmp, 'vmlinux'));
  fs.rmSync(vmlinuz);

  // The .deb ships no modules.dep (its postinst runs depmod). busybox depmod writes one, in
  // the format both busybox modprobe (in the guest) and our resolver below read.
  log('depmod (busybox) on the extracted modules');
  mustRun('busybox', ['depmod', '-b', tmp, kver]);

  const final = path.join(kernelsDir, kver);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  fs.writeFileSync(path.join(final, '.complete'), `${deb}\n`);
  fs.rmSync(dl, { recursive: true, force: true });
  return { ...kernelInfo(kernelsDir, kver), fresh: true };
}

// ---- initramfs ------------------------------------------------------------------------

function readModulesDep(modulesDir) {
  const deps = new Map();
  for (const line of fs.readFileSync(path.join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const m = line.match(/^([^:]+):\s*(.*)$/);
    if (!m) continue;
    const name = (p) => path.basename(p).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');
    deps.set(name(m[1]), { path: m[1], deps: m[2].split(/\s+/).filter(Boolean).map(name) });
  }
  return deps;
}

/** Module names in load order (dependencies first) for the given targets. */
export function resolveModules(modulesDir, targets) {
  const deps = readModulesDep(modulesDir);
  const order = [];
  const seen = new Set();
  const visit = (name, chain) => {
    if (seen.has(name)) return;
    const entry = deps.get(name);
    if (!entry) throw new Error(`module ${name} not in modules.dep (needed by ${chain.join(' <- ') || 'the lab'})`);
    seen.add(name);
    for (const d of entry.deps) visit(d, [name, ...chain]);
    order.push({ name, path: entry.path });
  };
  for (const t of targets) visit(t, []);
  return order;
}

export function ensureInitramfs(cacheDir, kernel, initScript) {
  const busybox = '/bin/busybox';
  const mods = resolveModules(kernel.modules, INITRAMFS_MODULES);
  const base = new Set(mods.map((m) => m.name));
  const diskMods = resolveModules(kernel.modules, INITRAMFS_DISK_MODULES).filter((m) => !base.has(m.name));
  const h = createHash('sha256');
  h.update(fs.readFileSync(initScript));
  h.update(fs.readFileSync(busybox));
  h.update(kernel.kver);
  for (const m of mods) h.update(`${m.name}:${fs.statSync(path.join(kernel.modules, m.path)).size}\n`);
  h.update('disk:\n');
  for (const m of diskMods) h.update(`${m.name}:${fs.statSync(path.join(kernel.modules, m.path)).size}\n`);
  const out = path.join(cacheDir, `initramfs-${kernel.kver}-${h.digest('hex').slice(0, 12)}.cpio`);
  if (fs.existsSync(out)) return { path: out, modules: mods.map((m) => m.name), diskModules: diskMods.map((m) => m.name), fresh: false };

  const c = new CpioWriter();
  for (const d of ['bin', 'dev', 'proc', 'sys', 'newroot', 'lower', 'upper', 'modules']) c.dir(d);
  c.charDevice('dev/console', 5, 1);
  c.file('bin/busybox', fs.readFileSync(busybox), 0o755);
  c.symlink('bin/sh', 'busybox');
  c.file('init', fs.readFileSync(initScript), 0o755);
  for (const m of [...mods, ...diskMods]) c.file(`modules/${m.name}.ko`, fs.readFileSync(path.join(kernel.modules, m.path)));
  c.file('modules/order', mods.map((m) => m.name).join('\n') + '\n');
  c.file('modules/order-disk', diskMods.map((m) => m.name).join('\n') + '\n');

  for (const f of fs.readdirSync(cacheDir)) {
    if (/^initramfs-.*\.cpio$/.test(f)) fs.rmSync(path.join(cacheDir, f)); // stale builds
  }
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, c.finish());
  fs.renameSync(tmp, out);
  return { path: out, modules: mods.map((m) => m.name), diskModules: diskMods.map((m) => m.name), fresh: true };
}

// ---- qemu probe -----------------------------------------------------------------------

/** Returns null when qemu can start a TCG machine, else the reason it cannot. */
export function probeQemu(qemu) {
  const r = run(
    'timeout',
    ['60', qemu, '-machine', 'none', '-accel', 'tcg', '-nodefaults', '-no-user-config', '-display', 'none', '-S', '-qmp', 'stdio'],
    { input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' },
  );
  if (r.status === 0 && /"QMP"/.test(r.stdout)) return null;
  return `qemu probe exited ${r.status}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`;
}

// ---- the systemd boot ---------------------------------------------------------------------

/** The installed version of a Debian package, or null. */
function installedVersion(pkg) {
  const r = run('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg]);
  const m = r.status === 0 && /install ok installed (\S+)/.exec(r.stdout);
  return m ? m[1] : null;
}

/**
 * Debian's udev package, unpacked (dpkg -x, nothing installed on the host) into the cache for
 * the guest of the systemd boot: without systemd-udevd no device unit ever appears, and the
 * units depend on the VRF's device unit. Same version as the host's systemd (udev depends on
 * it exactly), from the archive when the mirror still has it, else the candidate.
 */
export function ensureUdev(cacheDir) {
  const sdVersion = installedVersion('systemd');
  if (!sdVersion || !fs.existsSync('/lib/systemd/systemd')) {
    throw new Error('systemd is not installed on the host: the guest boots the host root, so the systemd scenarios need it (apt-get install systemd)');
  }
  const tag = sdVersion.replace(/[^\w.+~-]/g, '_');
  const root = path.join(cacheDir, 'udev', tag);
  if (fs.existsSync(path.join(root, '.complete'))) return { root, version: fs.readFileSync(path.join(root, '.complete'), 'utf8').trim(), fresh: false };

  const dl = path.join(cacheDir, 'download-udev');
  fs.rmSync(dl, { recursive: true, force: true });
  fs.mkdirSync(dl, { recursive: true });
  const download = (spec) => run('apt-get', [...APT_OPTS, '-qq', 'download', spec], { cwd: dl, env: APT_ENV });
  log(`apt-get download udev=${sdVersion}`);
  let r = download(`udev=${sdVersion}`);
  if (r.status !== 0 && !aptUpdated) {
    aptUpdate();
    r = download(`udev=${sdVersion}`);
  }
  if (r.status !== 0) {
    log(`udev ${sdVersion} (the host's systemd version) is not in the archive; using the candidate`);
    r = download('udev');
  }
  if (r.status !== 0) throw new Error(`apt-get download udev failed:\n${r.stdout}${r.stderr}`);
  const deb = fs.readdirSync(dl).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download udev left no .deb in ${dl}`);

  const tmp = path.join(cacheDir, 'udev', `.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  mustRun('dpkg', ['-x', path.join(dl, deb), tmp]);
  // Not needed in the guest: documentation, the SysV script, and the 10 MB hardware database
  // sources (systemd-hwdb-update is masked there; udevd works without hwdb.bin).
  for (const d of ['usr/share', 'etc/init.d', 'lib/udev/hwdb.d']) fs.rmSync(path.join(tmp, d), { recursive: true, force: true });
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmp, root);
  fs.writeFileSync(path.join(root, '.complete'), `${deb}\n`);
  fs.rmSync(dl, { recursive: true, force: true });
  return { root, version: deb, fresh: true };
}

/**
 * `systemd/install.sh install` with DESTDIR=dest (no systemctl: DESTDIR mode), as an operator
 * would run it on a built checkout; the systemd boot copies dest into the guest's root. Outside
 * /tmp on purpose: the guest sees the host's /tmp, but the units' PrivateTmp= would not.
 */
export function installForGuest(repo, dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const r = run('sh', [path.join(repo, 'systemd/install.sh'), 'install'], {
    env: { ...process.env, DESTDIR: dest },
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`DESTDIR=${dest} systemd/install.sh install exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  return (r.stdout ?? '').trim().split('\n').filter(Boolean);
}

// ---- the seed boots (scenario 5) ----------------------------------------------------------

/** Debian packages the seed boots need on the host (the guest runs the host's binaries). */
export const SEED_HOST_PACKAGES = [
  'e2fsprogs', // mkfs.ext4 for the disk that carries the overlay's upper layer across the reboot
  'dbus', // systemd-resolved depends on a system bus; a stock Debian host has dbus
];

/** The host packages of SEED_HOST_PACKAGES that are missing, installed (as ensurePackages). */
export function ensureSeedPackages() {
  const missing = SEED_HOST_PACKAGES.filter((p) => !isInstalled(p));
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new Error(`missing packages ${missing.join(' ')} and not root to install them`);
  aptUpdate();
  log(`apt-get install ${missing.join(' ')}`);
  const r = run('apt-get', [...APT_OPTS, '-y', '-qq', '--no-install-recommends', 'install', ...missing], { env: APT_ENV });
  if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return missing;
}

// Installed in the GUEST only (dpkg -i there, into the overlay), never on the host.
const RESOLVED_PACKAGES = ['systemd-resolved', 'libnss-resolve'];
const TOOL_PACKAGES = ['ifupdown2']; // scenario 7: the VRF as ifupdown2 makes it

/**
 * .deb files for the guest, downloaded once with `apt-get download SPECS` into the cache
 * (CACHE/KIND/KEY/, complete when .complete is there). Nothing is installed on the host.
 */
function ensureGuestDebs(cacheDir, kind, key, specs, why) {
  const dir = path.join(cacheDir, kind, key.replace(/[^\w.+~-]/g, '_'));
  const debsIn = () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.deb')).sort() : []);
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir, debs: debsIn().map((f) => path.join(dir, f)), fresh: false };

  const dl = path.join(cacheDir, `download-${kind}`);
  fs.rmSync(dl, { recursive: true, force: true });
  fs.mkdirSync(dl, { recursive: true });
  const download = () => run('apt-get', [...APT_OPTS, '-qq', 'download', ...specs], { cwd: dl, env: APT_ENV });
  log(`apt-get download ${specs.join(' ')}`);
  let r = download();
  if (r.status !== 0 && !aptUpdated) {
    aptUpdate();
    r = download();
  }
  if (r.status !== 0) throw new Error(`apt-get download ${specs.join(' ')} failed (${why}):\n${r.stdout}${r.stderr}`);
  const got = fs.readdirSync(dl).filter((f) => f.endsWith('.deb'));
  if (got.length !== specs.length) throw new Error(`apt-get download left ${got.join(' ') || 'nothing'} in ${dl}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(dl, dir);
  fs.writeFileSync(path.join(dir, '.complete'), `${got.sort().join('\n')}\n`);
  return { dir, debs: debsIn().map((f) => path.join(dir, f)), fresh: true };
}

/**
 * Debian's systemd-resolved and libnss-resolve .deb files of exactly the host's systemd version
 * (systemd-resolved depends on systemd (= that version)), in .cache/vrf-lab/resolved/VERSION/.
 * The seed's first boot installs them in the guest with dpkg -i, so its maintainer scripts make
 * /etc/resolv.conf the stub symlink and add `resolve` to nsswitch's hosts line as on a stock host.
 */
export function ensureResolvedDebs(cacheDir) {
  const sdVersion = installedVersion('systemd');
  if (!sdVersion) throw new Error('systemd is not installed on the host: the seed scenario boots it as PID 1 (apt-get install systemd)');
  const specs = RESOLVED_PACKAGES.map((p) => `${p}=${sdVersion}`);
  const got = ensureGuestDebs(cacheDir, 'resolved', sdVersion, specs, `the guest needs exactly the host's systemd version ${sdVersion}`);
  return { ...got, version: sdVersion };
}

/**
 * The .deb files of the VRF tools that Debian packages and the host need not have (ifupdown2,
 * which conflicts with ifupdown), in .cache/vrf-lab/tools/; scenario 7 installs them in the guest.
 */
export function ensureToolDebs(cacheDir) {
  return ensureGuestDebs(cacheDir, 'tools', TOOL_PACKAGES.join('+'), TOOL_PACKAGES, 'scenario 7 installs them in the guest');
}

/**
 * A sparse raw disk image with an empty ext4 file system: the seed's persistent "host disk".
 * init.sh mounts it as the overlay's upper layer (instead of a tmpfs) when config.sh says
 * VRF_LAB_UPPER=disk, so what the first boot writes is still there in the second. The inode
 * tables and the journal are written here (fast on the host) rather than lazily by the guest's
 * ext4lazyinit thread, which would cost CPU under TCG.
 */
export function makeUpperDisk(file, sizeMiB = 2048) {
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, sizeMiB * 1024 * 1024);
  } finally {
    fs.closeSync(fd);
  }
  const mkfs = fs.existsSync('/sbin/mkfs.ext4') ? '/sbin/mkfs.ext4' : 'mkfs.ext4';
  mustRun(mkfs, ['-F', '-q', '-L', 'vrf-lab-upper', '-E', 'lazy_itable_init=0,lazy_journal_init=0', file]);
  return file;
}

// ---- the Debian package (scenario 8) ------------------------------------------------------

/**
 * vrf-resolver's own .deb for scenario 8, in CACHE/deb/ (the guest sees the host's paths, but
 * not its /tmp): the one CI built before the tests (VRF_RESOLVER_DEB), else one built here by
 * `systemd/deb/build.sh` (~30-60 s). The guest installs it with apt-get in its overlay; it is
 * never installed on the host.
 */
export function ensureDeb(repo, cacheDir) {
  const dir = path.join(cacheDir, 'deb');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const given = process.env.VRF_RESOLVER_DEB;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`VRF_RESOLVER_DEB=${given} does not exist`);
    const deb = path.join(dir, path.basename(given));
    fs.copyFileSync(given, deb);
    return { deb, built: false };
  }
  const r = run('bash', [path.join(repo, 'systemd/deb/build.sh'), '--out-dir', dir], { timeout: 600_000 });
  if (r.status !== 0) throw new Error(`systemd/deb/build.sh exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  const deb = r.stdout.trim().split('\n').pop();
  if (!deb || !fs.existsSync(deb)) throw new Error(`systemd/deb/build.sh named no package:\n${r.stdout}`);
  return { deb, built: true };
}
