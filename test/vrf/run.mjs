#!/usr/bin/env node
// The VRF lab: proves vrf-resolver's VRF claims in a VM whose kernel has VRF.
//
//   node test/vrf/run.mjs            run every scenario, print PASS/FAIL lines and
//                                    "N passed, N failed"; exit 1 if anything failed
//   node test/vrf/run.mjs --lab      boot with the topology up and two resolvers running,
//                                    interactive shell on the console (exit to power off)
//
// Steps: ensure Debian packages -> ensure the cached guest kernel, modules and initramfs
// (.cache/vrf-lab/) -> boot a qemu (TCG) VM that shares the host root read-only and runs
// test/vrf/guest/stage2.sh -> collect results from a shared folder. Scenarios marked
// "# vrf-lab-boot: systemd" (scenario 4) run in a second boot with systemd as PID 1
// (guest/systemd-boot.sh), with udev from the cache and the units that systemd/install.sh
// installs (DESTDIR on the host). Scenarios marked "# vrf-lab-boot: seed" (scenario 5) run in
// two more boots, one after the other on one disk image that holds the overlay's upper layer
// (a host that reboots), with systemd-resolved installed in the guest. See test/vrf/README.md.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureInitramfs,
  ensureKernel,
  ensurePackages,
  ensureResolvedDebs,
  ensureSeedPackages,
  ensureToolDebs,
  ensureUdev,
  ensureDeb,
  installForGuest,
  log,
  makeUpperDisk,
  probeQemu,
} from './lib/setup.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const CACHE = path.resolve(process.env.VRF_LAB_CACHE ?? path.join(REPO, '.cache/vrf-lab'));
const QEMU = process.env.VRF_LAB_QEMU ?? 'qemu-system-x86_64';
const GUEST = path.join(HERE, 'guest');
const SYSTEMD_MARK = /^# vrf-lab-boot: systemd$/m;
const SEED_MARK = /^# vrf-lab-boot: seed$/m;
// Scenarios that install vrf-resolver's .deb in the guest (scenario 8): built on the host first.
const DEB_MARK = /^# vrf-lab-needs: deb$/m;
// What such a scenario adds to its boot under TCG: apt-get install, --reinstall, remove and
// purge take a minute or so each (measured: scenario 8 took 3 min in the whole systemd boot,
// 5 min alone on a busy machine; the whole boot with 4, 7 and 8: 737 s).
const DEB_EXTRA_SEC = 600;

const USAGE = `usage: node test/vrf/run.mjs [options]
  --lab                 interactive lab: topology up, resolvers for mgmt and the default VRF
  --scenarios "1 3"     run only these scenarios (numbers of test/vrf/guest/scenario-N-*.sh;
                        default: all; 4, systemd, boots the VM a second time; 5, the seed,
                        boots it twice more on one disk image, a host that reboots)
  --standin             use test/vrf/guest/standin-resolver.sh (dnsmasq) instead of dist/main.js
                        (scenarios 1-3 only: 4 and 5 run the units that install.sh installs)
  --resolver "CMD"      the resolver command in the guest (default: node <repo>/dist/main.js;
                        scenarios 1-3 only, as --standin)
  --resolver-args "A"   extra arguments for every mgmt instance (e.g. "--upstream-device def-up"
                        to see scenarios 1-3 fail when upstream sockets leave mgmt)
  --log-level LEVEL     resolver --log-level in the guest (default info)
  --timeout SECONDS     hard limit for each VM boot (default 900; the systemd boot gets
                        600 more when it runs scenario 8, the Debian package)
  --smp N --memory MB   VM size (default 2 CPUs, 2048 MB)
  --keep                keep the results folder even when everything passed
  --verbose             stream the whole guest console
  --refresh-kernel      download and unpack the guest kernel again`;

function parseArgs(argv) {
  const o = {
    lab: false,
    scenarios: null, // every scenario; 1-3 with --standin or --resolver
    standin: false,
    resolver: null,
    resolverArgs: '',
    logLevel: 'info',
    timeout: 900,
    timeoutGiven: false,
    smp: 2,
    memory: 2048,
    keep: false,
    verbose: false,
    refreshKernel: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--lab') o.lab = true;
    else if (a === '--scenarios') o.scenarios = val();
    else if (a === '--standin') o.standin = true;
    else if (a === '--resolver') o.resolver = val();
    else if (a === '--resolver-args') o.resolverArgs = val();
    else if (a === '--log-level') o.logLevel = val();
    else if (a === '--timeout') {
      o.timeout = Number(val());
      o.timeoutGiven = true;
    }
    else if (a === '--smp') o.smp = Number(val());
    else if (a === '--memory') o.memory = Number(val());
    else if (a === '--keep') o.keep = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--refresh-kernel') o.refreshKernel = true;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function finish(passed, failed, skipped = 0) {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
}

function skipLoudly(reason) {
  const bar = '!'.repeat(78);
  console.log(`${bar}\n!! SKIP vrf-lab: qemu cannot run on this machine, NO VRF SCENARIO WAS RUN\n!! ${reason}\n${bar}`);
  if (process.env.VRF_LAB_NO_SKIP === '1') finish(0, 1); // where a skip must count as a failure
  finish(0, 0, 1);
}

function failSetup(what, err) {
  console.log(`FAIL vrf-lab: ${what}`);
  console.log(String(err?.message ?? err).split('\n').map((l) => `    ${l}`).join('\n'));
  finish(0, 1);
}

function resolverCommand(o) {
  if (o.resolver) return o.resolver;
  if (o.standin) return `bash ${path.join(HERE, 'guest/standin-resolver.sh')}`;
  const main = path.join(REPO, 'dist/main.js');
  if (!fs.existsSync(main)) {
    throw new Error(`${main} does not exist: build first (npm run build), or use --standin to check the lab itself`);
  }
  const r = spawnSync(process.execPath, [main, '--version'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`node dist/main.js --version exited ${r.status}:\n${r.stdout}${r.stderr}`);
  }
  log(`resolver: dist/main.js, version ${r.stdout.trim()}`);
  return `${process.execPath} ${main}`;
}

function qemuArgs(o, kernel, initramfs, ioDir, consoleLog, disk = null) {
  const append = [
    'console=ttyS0',
    'panic=-1', // with -no-reboot, a guest that panics ends qemu instead of hanging
    'quiet',
    'loglevel=4',
    'mitigations=off',
    'tsc=reliable',
    'no_timer_check',
    '8250.nr_uarts=1',
  ].join(' ');
  return [
    '-accel', 'tcg,tb-size=256', // KVM hangs on these machines
    '-cpu', 'max',
    '-smp', String(o.smp),
    '-m', String(o.memory),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', kernel.vmlinux, // the uncompressed ELF boots through PVH: ~3.5 s faster than bzImage
    '-initrd', initramfs.path,
    '-append', append,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${ioDir},mount_tag=labio,security_model=none,multidevs=remap`,
    '-nic', 'none',
    // The seed boots: the disk that holds the overlay's upper layer (init.sh, VRF_LAB_UPPER=disk).
    ...(disk ? ['-drive', `file=${disk.replace(/,/g, ',,')},if=virtio,format=raw,cache=writeback`] : []),
    ...(o.lab ? ['-serial', 'mon:stdio'] : ['-serial', `file:${consoleLog}`, '-monitor', 'none']),
  ];
}

function readLines(file) {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r/g, '').split('\n');
  } catch {
    return [];
  }
}

function tail(file, n) {
  const lines = readLines(file);
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}

/** The scenario numbers (as given) split into the plain boot's, the systemd boot's and the seed boots'. */
function splitScenarios(list) {
  const plain = [];
  const systemd = [];
  const seed = [];
  for (const n of list.split(/[\s,]+/).filter(Boolean)) {
    const scripts = fs.readdirSync(GUEST).filter((f) => f.startsWith(`scenario-${n}-`) && f.endsWith('.sh'));
    const all = (mark) => scripts.length > 0 && scripts.every((f) => mark.test(fs.readFileSync(path.join(GUEST, f), 'utf8')));
    // An unknown number goes to the plain boot, whose run-scenarios.sh reports it as a FAIL.
    if (all(SYSTEMD_MARK)) systemd.push(n);
    else if (all(SEED_MARK)) seed.push(n);
    else plain.push(n);
  }
  return { plain, systemd, seed };
}

/** Whether one of these scenarios installs vrf-resolver's .deb (DEB_MARK). */
function needsDeb(list) {
  return list.some((n) =>
    fs.readdirSync(GUEST).some((f) => f.startsWith(`scenario-${n}-`) && f.endsWith('.sh') && DEB_MARK.test(fs.readFileSync(path.join(GUEST, f), 'utf8'))),
  );
}

function allScenarios(o) {
  const nums = fs
    .readdirSync(GUEST)
    .map((f) => /^scenario-(\d+)-.*\.sh$/.exec(f)?.[1])
    .filter(Boolean)
    .sort((a, b) => Number(a) - Number(b));
  const unique = [...new Set(nums)];
  if (o.standin || o.resolver) return unique.filter((n) => splitScenarios(n).plain.length > 0).join(' ');
  return unique.join(' ');
}

/** One VM boot: writes config.sh into a fresh shared folder, runs qemu, reads the results. */
async function bootVm(o, { label, kernel, initramfs, config, disk = null }) {
  const ioDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrf-lab-'));
  fs.mkdirSync(path.join(ioDir, 'logs'));
  fs.writeFileSync(
    path.join(ioDir, 'config.sh'),
    Object.entries(config)
      .map(([k, v]) => `${k}=${shq(v)}`)
      .join('\n') + '\n',
  );
  const consoleLog = path.join(ioDir, 'console.log');
  const args = qemuArgs(o, kernel, initramfs, ioDir, consoleLog, disk);
  log(`booting the VM for ${label} (TCG, timeout ${o.timeout} s); console: ${consoleLog}`);
  const tv = Date.now();
  const qemu = spawn('timeout', ['--kill-after=15', String(o.timeout), QEMU, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let printed = 0;
  const pump = () => {
    const lines = readLines(consoleLog);
    const complete = lines.length - 1; // the last element may be a partial line
    for (; printed < complete; printed++) {
      const line = lines[printed];
      if (o.verbose || /^(PASS|FAIL|== |vrf-lab: FATAL|vrf-lab init: FATAL|vrf-lab: systemd boot|vrf-lab: seed)/.test(line)) console.log(line);
    }
  };
  const timer = setInterval(pump, 300);
  const status = await new Promise((resolve) => qemu.on('exit', (code, sig) => resolve(code ?? sig)));
  clearInterval(timer);
  pump();
  log(`VM (${label}) ran ${secs(tv)} (qemu status ${status})`);

  const results = readLines(path.join(ioDir, 'results')).filter((l) => /^(PASS|FAIL) /.test(l));
  const exitFile = path.join(ioDir, 'exit-code');
  const guestExit = fs.existsSync(exitFile) ? fs.readFileSync(exitFile, 'utf8').trim() : null;
  // Failures of the boot itself, beyond the scenarios' own FAIL lines.
  const vmFails = [];
  const failedChecks = results.filter((l) => l.startsWith('FAIL ')).length;
  if (status === 124 || status === 137 || status === 'SIGKILL') vmFails.push(`the VM (${label}) did not finish within ${o.timeout} s`);
  else if (guestExit === null) vmFails.push(`the guest (${label}) did not run to completion (no exit code)`);
  else if (guestExit !== '0' && failedChecks === 0) vmFails.push(`the guest (${label}) exited with status ${guestExit}`);
  if (results.length === 0 && vmFails.length === 0) vmFails.push(`no scenario reported any result (${label})`);
  for (const f of vmFails) console.log(`FAIL vm: ${f}`);
  return { label, ioDir, consoleLog, results, vmFails };
}

/**
 * Host side of the systemd boot: udev for the guest, the project as install.sh installs it,
 * dbus (networkctl talks to networkd over the bus; resolved needs it too) and ifupdown2's .deb
 * (scenario 7 installs it in the guest's overlay).
 */
let systemdPrep = null;
function prepareSystemdBoot() {
  if (systemdPrep) return systemdPrep; // the seed boots use the same, made once
  const installed = ensureSeedPackages();
  if (installed.length) log(`installed ${installed.join(' ')}`);
  const tu = Date.now();
  const udev = ensureUdev(CACHE);
  log(`udev for the guest: ${udev.version} ${udev.fresh ? `downloaded and unpacked (${secs(tu)})` : '(cached)'}`);
  const tt = Date.now();
  const tools = ensureToolDebs(CACHE);
  log(`VRF tools for the guest: ${tools.debs.map((f) => path.basename(f)).join(' ')} ${tools.fresh ? `downloaded (${secs(tt)})` : '(cached)'}`);
  const ti = Date.now();
  const installRoot = path.join(CACHE, 'install-root');
  installForGuest(REPO, installRoot);
  log(`DESTDIR=${path.relative(REPO, installRoot)} systemd/install.sh install (${secs(ti)})`);
  systemdPrep = { udevRoot: udev.root, installRoot, toolDebsDir: tools.dir };
  return systemdPrep;
}

/**
 * Host side of the seed boots: what the systemd boot needs (with e2fsprogs and dbus), plus
 * systemd-resolved's and libnss-resolve's .deb files (the host's systemd
 * version; dpkg -i in the guest only), and a fresh disk image for the upper layer, in its own
 * temp folder (both boots use it; removed when they passed).
 */
function prepareSeedBoots() {
  const prep = prepareSystemdBoot();
  const tr = Date.now();
  const resolved = ensureResolvedDebs(CACHE);
  log(`systemd-resolved for the guest: ${resolved.version} ${resolved.fresh ? `downloaded (${secs(tr)})` : '(cached)'}`);
  const diskDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrf-lab-seed-disk-'));
  const td = Date.now();
  let disk;
  try {
    disk = makeUpperDisk(path.join(diskDir, 'upper.img'));
  } catch (err) {
    fs.rmSync(diskDir, { recursive: true, force: true });
    throw err;
  }
  log(`seed disk ${disk}: sparse, ext4 (${secs(td)})`);
  return { ...prep, resolvedDir: resolved.dir, diskDir, disk };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  if (o.scenarios === null) o.scenarios = allScenarios(o);
  const { plain, systemd, seed } = o.lab ? { plain: [], systemd: [], seed: [] } : splitScenarios(o.scenarios);

  // 1. packages
  try {
    const installed = ensurePackages();
    if (installed.length) log(`installed ${installed.join(' ')} (${secs(t0)})`);
  } catch (err) {
    const hasQemu = spawnSync('sh', ['-c', `command -v ${QEMU}`]).status === 0;
    if (!hasQemu) skipLoudly(`${QEMU} is not installed and could not be installed: ${err.message.split('\n')[0]}`);
    failSetup('installing the lab packages', err);
  }
  const why = probeQemu(QEMU);
  if (why) skipLoudly(why);

  // 2. the resolver under test (scenarios 1-3 and --lab; scenario 4 runs the installed units)
  let resolver = '';
  if (o.lab || plain.length > 0) {
    try {
      resolver = resolverCommand(o);
    } catch (err) {
      failSetup('the resolver under test is not runnable', err);
    }
  }

  // 3. kernel + initramfs (cached)
  let kernel;
  let initramfs;
  try {
    fs.mkdirSync(CACHE, { recursive: true });
    const tk = Date.now();
    kernel = ensureKernel(CACHE, { refresh: o.refreshKernel });
    log(`guest kernel ${kernel.kver} ${kernel.fresh ? `downloaded and unpacked (${secs(tk)})` : '(cached)'}`);
    const ti = Date.now();
    initramfs = ensureInitramfs(CACHE, kernel, path.join(GUEST, 'init.sh'));
    log(`initramfs ${path.basename(initramfs.path)} ${initramfs.fresh ? `built (${secs(ti)})` : '(cached)'}: ${initramfs.modules.join(' ')}`);
  } catch (err) {
    failSetup('preparing the guest kernel and initramfs', err);
  }

  const baseConfig = {
    VRF_LAB_MODE: o.lab ? 'lab' : 'test',
    VRF_LAB_REPO: REPO,
    VRF_LAB_KVER: kernel.kver,
    VRF_LAB_KTREE: kernel.root,
    VRF_LAB_RESOLVER: resolver,
    VRF_LAB_MGMT_EXTRA_ARGS: o.resolverArgs,
    VRF_LAB_LOG_LEVEL: o.logLevel,
  };

  // 4. --lab: interactive, the plain boot
  if (o.lab) {
    const ioDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrf-lab-'));
    fs.mkdirSync(path.join(ioDir, 'logs'));
    const config = { ...baseConfig, VRF_LAB_SCENARIOS: '', VRF_LAB_INIT: process.env.VRF_LAB_INIT ?? '' };
    fs.writeFileSync(path.join(ioDir, 'config.sh'), Object.entries(config).map(([k, v]) => `${k}=${shq(v)}`).join('\n') + '\n');
    log('booting the lab VM; the shell appears in ~30 s. Leave with `exit` (or Ctrl-A x to kill qemu).');
    const r = spawnSync(QEMU, qemuArgs(o, kernel, initramfs, ioDir, null), { stdio: 'inherit' });
    log(`lab VM ended (status ${r.status}); logs in ${ioDir}`);
    process.exit(0);
  }

  // 5. the boots: scenarios 1-3 under stage2.sh, then the systemd ones with systemd as PID 1,
  // then the seed's two boots on one disk
  const boots = [];
  let setupFailures = 0;
  if (plain.length > 0) {
    boots.push(
      await bootVm(o, {
        label: `scenarios ${plain.join(' ')}`,
        kernel,
        initramfs,
        // What init.sh execs after switch_root; empty: guest/stage2.sh.
        config: { ...baseConfig, VRF_LAB_SCENARIOS: plain.join(' '), VRF_LAB_INIT: process.env.VRF_LAB_INIT ?? '' },
      }),
    );
  }
  if (systemd.length > 0) {
    let prep = null;
    try {
      prep = prepareSystemdBoot();
    } catch (err) {
      console.log(`FAIL systemd: preparing the systemd boot (udev for the guest, DESTDIR install.sh install)`);
      console.log(String(err?.message ?? err).split('\n').map((l) => `    ${l}`).join('\n'));
      setupFailures++;
    }
    let debPath = '';
    if (prep && needsDeb(systemd)) {
      try {
        const td = Date.now();
        const d = ensureDeb(REPO, CACHE);
        debPath = d.deb;
        log(`the package for the guest: ${path.relative(REPO, d.deb)} ${d.built ? `built (${secs(td)})` : '(VRF_RESOLVER_DEB)'}`);
      } catch (err) {
        console.log('FAIL systemd: building the Debian package for the guest (systemd/deb/build.sh)');
        console.log(String(err?.message ?? err).split('\n').map((l) => `    ${l}`).join('\n'));
        setupFailures++;
      }
    }
    if (prep) {
      const so = debPath && !o.timeoutGiven ? { ...o, timeout: o.timeout + DEB_EXTRA_SEC } : o;
      boots.push(
        await bootVm(so, {
          label: `systemd scenario${systemd.length > 1 ? 's' : ''} ${systemd.join(' ')}`,
          kernel,
          initramfs,
          config: {
            ...baseConfig,
            VRF_LAB_SCENARIOS: systemd.join(' '),
            VRF_LAB_INIT: `/bin/bash ${path.join(GUEST, 'systemd-boot.sh')}`,
            VRF_LAB_UDEV_TREE: prep.udevRoot,
            VRF_LAB_INSTALL_ROOT: prep.installRoot,
            VRF_LAB_TOOL_DEBS: prep.toolDebsDir,
            VRF_LAB_DEB: debPath,
            // vrf-lab.service's RuntimeMaxSec=: the guest ends itself before the host's timeout.
            VRF_LAB_GUEST_TIMEOUT: String(Math.max(60, so.timeout - 60)),
          },
        }),
      );
    }
  }
  let seedDiskDir = null;
  if (seed.length > 0) {
    let prep = null;
    try {
      prep = prepareSeedBoots();
    } catch (err) {
      console.log('FAIL seed: preparing the seed boots (udev, install.sh install, systemd-resolved for the guest, the disk image)');
      console.log(String(err?.message ?? err).split('\n').map((l) => `    ${l}`).join('\n'));
      setupFailures++;
    }
    if (prep) {
      seedDiskDir = prep.diskDir;
      const seedConfig = (n) => ({
        ...baseConfig,
        VRF_LAB_SCENARIOS: seed.join(' '),
        VRF_LAB_INIT: `/bin/bash ${path.join(GUEST, 'systemd-boot.sh')}`,
        VRF_LAB_UDEV_TREE: prep.udevRoot,
        VRF_LAB_INSTALL_ROOT: prep.installRoot,
        VRF_LAB_GUEST_TIMEOUT: String(Math.max(60, o.timeout - 60)),
        VRF_LAB_UPPER: 'disk', // init.sh: the overlay's upper layer is /dev/vda
        VRF_LAB_SEED_BOOT: String(n),
        VRF_LAB_SETUP_NAME: n === 1 ? 'seed-setup' : 'seed-reboot-setup',
        VRF_LAB_RESOLVED_DIR: prep.resolvedDir,
      });
      const what = `seed scenario${seed.length > 1 ? 's' : ''} ${seed.join(' ')}`;
      const first = await bootVm(o, { label: `${what}, boot 1`, kernel, initramfs, disk: prep.disk, config: seedConfig(1) });
      boots.push(first);
      if (first.vmFails.length === 0) {
        boots.push(await bootVm(o, { label: `${what}, boot 2 (reboot)`, kernel, initramfs, disk: prep.disk, config: seedConfig(2) }));
      } else {
        console.log(`FAIL vm: the ${what} boot 2 (the reboot) was not run: boot 1 did not complete`);
        setupFailures++;
      }
    }
  }
  log(`total ${secs(t0)}`);

  // 6. results
  const results = boots.flatMap((b) => b.results);
  const passed = results.filter((l) => l.startsWith('PASS ')).length;
  const failed = results.length - passed + setupFailures + boots.reduce((n, b) => n + b.vmFails.length, 0);

  const perScenario = new Map();
  for (const l of results) {
    const name = l.slice(5).split(':')[0];
    const c = perScenario.get(name) ?? { pass: 0, fail: 0 };
    if (l.startsWith('PASS ')) c.pass++;
    else c.fail++;
    perScenario.set(name, c);
  }
  console.log('\nscenarios:');
  for (const [name, c] of perScenario) {
    console.log(`  ${c.fail ? 'failed' : 'passed'}  ${name}: ${c.pass} of ${c.pass + c.fail} checks passed`);
  }

  for (const b of boots) {
    const bootFailed = b.vmFails.length > 0 || b.results.some((l) => l.startsWith('FAIL '));
    if (bootFailed) {
      const failedScenarios = new Set(b.results.filter((l) => l.startsWith('FAIL ')).map((l) => l.slice(5).split(':')[0]));
      for (const s of failedScenarios) {
        const f = path.join(b.ioDir, 'logs', `${s}.log`);
        console.log(`\n---- ${s}: last lines of ${f}\n${tail(f, 80)}`);
      }
      const consoleTail = readLines(b.consoleLog).filter((l) => !/^(PASS|FAIL) /.test(l)).slice(-60).join('\n');
      console.log(`\n---- guest console of ${b.label} (last 60 lines of ${b.consoleLog}, PASS/FAIL lines left out)\n${consoleTail}`);
      console.log(`\nall logs of ${b.label} kept in ${b.ioDir}`);
      if (b.label.startsWith('seed') && seedDiskDir) console.log(`the seed's disk image kept in ${seedDiskDir}`);
    } else if (o.keep) {
      log(`logs of ${b.label} kept in ${b.ioDir}`);
    } else {
      fs.rmSync(b.ioDir, { recursive: true, force: true });
    }
  }
  const seedFailed = boots.some((b) => b.label.startsWith('seed') && (b.vmFails.length > 0 || b.results.some((l) => l.startsWith('FAIL '))));
  if (seedDiskDir && !seedFailed && !o.keep) fs.rmSync(seedDiskDir, { recursive: true, force: true });
  else if (seedDiskDir && o.keep && !seedFailed) log(`the seed's disk image kept in ${seedDiskDir}`);
  finish(passed, failed);
}

main().catch((err) => failSetup('unexpected error', err));
