#!/usr/bin/env node
// The VRF lab: proves vrf-resolver's VRF claims in a VM whose kernel has VRF.
//
//   node test/vrf/run.mjs            run every scenario, print PASS/FAIL lines and
//                                    "N passed, N failed"; exit 1 if anything failed
//   node test/vrf/run.mjs --lab      boot with the topology up and two resolvers running,
//                                    interactive shell on the console (exit to power off)
//
// Steps: ensure Debian packages -> ensure the cached guest kernel, modules and initramfs
// (.cache/vrf-lab/) -> boot one qemu (TCG) VM that shares the host root read-only and runs
// test/vrf/guest/stage2.sh -> collect results from a shared folder. See test/vrf/README.md.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInitramfs, ensureKernel, ensurePackages, log, probeQemu } from './lib/setup.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const CACHE = path.resolve(process.env.VRF_LAB_CACHE ?? path.join(REPO, '.cache/vrf-lab'));
const QEMU = process.env.VRF_LAB_QEMU ?? 'qemu-system-x86_64';

const USAGE = `usage: node test/vrf/run.mjs [options]
  --lab                 interactive lab: topology up, resolvers for mgmt and the default VRF
  --scenarios "1 3"     run only these scenarios (numbers of test/vrf/guest/scenario-N-*.sh)
  --standin             use test/vrf/guest/standin-resolver.sh (dnsmasq) instead of dist/main.js
  --resolver "CMD"      the resolver command in the guest (default: node <repo>/dist/main.js)
  --resolver-args "A"   extra arguments for every mgmt instance (e.g. "--upstream-device def-up"
                        to see scenarios 1-3 fail when upstream sockets leave mgmt)
  --log-level LEVEL     resolver --log-level in the guest (default info)
  --timeout SECONDS     hard limit for the VM (default 900)
  --smp N --memory MB   VM size (default 2 CPUs, 2048 MB)
  --keep                keep the results folder even when everything passed
  --verbose             stream the whole guest console
  --refresh-kernel      download and unpack the guest kernel again`;

function parseArgs(argv) {
  const o = {
    lab: false,
    scenarios: '1 2 3',
    standin: false,
    resolver: null,
    resolverArgs: '',
    logLevel: 'info',
    timeout: 900,
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
    else if (a === '--timeout') o.timeout = Number(val());
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

function qemuArgs(o, kernel, initramfs, ioDir, consoleLog) {
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

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();

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

  // 2. the resolver under test
  let resolver;
  try {
    resolver = resolverCommand(o);
  } catch (err) {
    failSetup('the resolver under test is not runnable', err);
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
    initramfs = ensureInitramfs(CACHE, kernel, path.join(HERE, 'guest/init.sh'));
    log(`initramfs ${path.basename(initramfs.path)} ${initramfs.fresh ? `built (${secs(ti)})` : '(cached)'}: ${initramfs.modules.join(' ')}`);
  } catch (err) {
    failSetup('preparing the guest kernel and initramfs', err);
  }

  // 4. the shared folder: config in, results out
  const ioDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrf-lab-'));
  fs.mkdirSync(path.join(ioDir, 'logs'));
  const config = {
    VRF_LAB_MODE: o.lab ? 'lab' : 'test',
    VRF_LAB_REPO: REPO,
    VRF_LAB_KVER: kernel.kver,
    VRF_LAB_KTREE: kernel.root,
    VRF_LAB_RESOLVER: resolver,
    VRF_LAB_MGMT_EXTRA_ARGS: o.resolverArgs,
    VRF_LAB_LOG_LEVEL: o.logLevel,
    VRF_LAB_SCENARIOS: o.scenarios,
    // What init.sh execs after switch_root; empty: guest/stage2.sh (a systemd scenario sets it).
    VRF_LAB_INIT: process.env.VRF_LAB_INIT ?? '',
  };
  fs.writeFileSync(
    path.join(ioDir, 'config.sh'),
    Object.entries(config)
      .map(([k, v]) => `${k}=${shq(v)}`)
      .join('\n') + '\n',
  );
  const consoleLog = path.join(ioDir, 'console.log');
  const args = qemuArgs(o, kernel, initramfs, ioDir, consoleLog);

  // 5. boot
  if (o.lab) {
    log('booting the lab VM; the shell appears in ~30 s. Leave with `exit` (or Ctrl-A x to kill qemu).');
    const r = spawnSync(QEMU, args, { stdio: 'inherit' });
    log(`lab VM ended (status ${r.status}); logs in ${ioDir}`);
    process.exit(0);
  }

  log(`booting the VM (TCG, timeout ${o.timeout} s); console: ${consoleLog}`);
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
      if (o.verbose || /^(PASS|FAIL|== |vrf-lab: FATAL|vrf-lab init: FATAL)/.test(line)) console.log(line);
    }
  };
  const timer = setInterval(pump, 300);
  const status = await new Promise((resolve) => qemu.on('exit', (code, sig) => resolve(code ?? sig)));
  clearInterval(timer);
  pump();
  log(`VM ran ${secs(tv)} (qemu status ${status}); total ${secs(t0)}`);

  // 6. results
  const results = readLines(path.join(ioDir, 'results')).filter((l) => /^(PASS|FAIL) /.test(l));
  let passed = results.filter((l) => l.startsWith('PASS ')).length;
  let failed = results.length - passed;
  const exitFile = path.join(ioDir, 'exit-code');
  const guestExit = fs.existsSync(exitFile) ? fs.readFileSync(exitFile, 'utf8').trim() : null;
  if (status === 124 || status === 137 || status === 'SIGKILL') {
    console.log(`FAIL vm: the VM did not finish within ${o.timeout} s`);
    failed++;
  } else if (guestExit === null) {
    console.log('FAIL vm: the guest did not run to completion (no exit code)');
    failed++;
  } else if (guestExit !== '0' && failed === 0) {
    console.log(`FAIL vm: the guest exited with status ${guestExit}`);
    failed++;
  }
  if (results.length === 0 && failed === 0) {
    console.log('FAIL vm: no scenario reported any result');
    failed++;
  }

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

  if (failed > 0) {
    const failedScenarios = new Set(results.filter((l) => l.startsWith('FAIL ')).map((l) => l.slice(5).split(':')[0]));
    for (const s of failedScenarios) {
      const f = path.join(ioDir, 'logs', `${s}.log`);
      console.log(`\n---- ${s}: last lines of ${f}\n${tail(f, 80)}`);
    }
    const consoleTail = readLines(consoleLog).filter((l) => !/^(PASS|FAIL) /.test(l)).slice(-60).join('\n');
    console.log(`\n---- guest console (last 60 lines of ${consoleLog}, PASS/FAIL lines left out)\n${consoleTail}`);
    console.log(`\nall logs kept in ${ioDir}`);
  } else if (o.keep) {
    log(`logs kept in ${ioDir}`);
  } else {
    fs.rmSync(ioDir, { recursive: true, force: true });
  }
  finish(passed, failed);
}

main().catch((err) => failSetup('unexpected error', err));
