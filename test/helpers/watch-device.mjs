// The process test/native/netlink.test.ts runs inside its network namespace (ip netns exec):
// a DeviceWatcher on the real kernel, driven by JSON lines on stdin, answering with JSON lines
// on stdout. argv[2] is the directory of the transpiled modules (net/device-watch.js,
// native/binding.js, ...), which the test writes inside the package so the addon is found.
//
//   {"op":"watch","device":D}     start a watcher on D -> {"started":STATE}, then one
//                                 {"change":C,"state":STATE} per change, {"nativeError":E} per
//                                 error the socket reports, {"log":L} per log line
//   {"op":"state"}                -> {"state":STATE}
//   {"op":"block","flag":PATH}    -> {"blocked":true}; the event loop then sleeps until PATH
//                                 exists (at most 30 s), so the socket is not read -> {"unblocked":true}
//   {"op":"churn","device":D,"n":N}  open, start and close (twice) N watchers one after the
//                                 other -> {"churn":{"before":FDS,"after":FDS}}
//   {"op":"gc","n":N}             N sockets dropped without close(), collected -> {"gc":{...}}
//   {"op":"contract"}             close() from inside onData, an exception thrown by onData,
//                                 dump() after close, bad arguments -> {"contract":{...}}
//   {"op":"worker"}               sockets left open in Worker threads that are terminated or
//                                 exit -> {"worker":{"before":FDS,"after":FDS}}
//   {"op":"exit"}                 closes the watcher and exits
// Every wait is bounded; the process exits by itself after 120 s.

import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const dir = argvDir();
const { DeviceWatcher } = await import(pathToFileURL(`${dir}/net/device-watch.js`).href);
const { netlinkOpen, nativeAddonPath } = await import(pathToFileURL(`${dir}/native/binding.js`).href);
const { Worker } = await import('node:worker_threads');

function argvDir() {
  const d = process.argv[2];
  if (!d) throw new Error('usage: watch-device.mjs MODULE_DIR');
  return d;
}

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const fds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const turn = () => new Promise((r) => setImmediate(r));
const plain = (s) => ({ ...s, addresses: [...s.addresses].sort() });
const errorShape = (e) => ({ name: e?.name, code: e?.code, errno: e?.errno, syscall: e?.syscall, message: e?.message });

setTimeout(() => process.exit(3), 120_000).unref();

let watcher = null;

async function watch(device) {
  const open = (onData) =>
    netlinkOpen((err, datagrams) => {
      if (err) out({ nativeError: errorShape(err) });
      onData(err, datagrams);
    });
  watcher = new DeviceWatcher(device, (change, state) => out({ change, state: plain(state) }), open, {
    log: (line) => out({ log: line }),
  });
  out({ started: plain(await watcher.start()) });
}

function block(flag) {
  out({ blocked: true });
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + 30_000;
  while (!existsSync(flag) && Date.now() < until) Atomics.wait(cell, 0, 0, 10);
  out({ unblocked: true });
}

async function churn(device, n) {
  await turn();
  const before = fds();
  for (let i = 0; i < n; i++) {
    const w = new DeviceWatcher(device, () => {});
    await w.start();
    w.close();
    w.close();
  }
  // The fd is closed in the poll handle's close callback, on the next turn of the loop.
  await turn();
  await turn();
  out({ churn: { before, after: fds() } });
}

async function collect(n) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
  await turn();
  const before = fds();
  for (let i = 0; i < n; i++) netlinkOpen(() => {}); // dropped at once
  const opened = fds();
  let rounds = 0;
  while (fds() > before && rounds < 200) {
    globalThis.gc();
    await sleep(10);
    rounds++;
  }
  out({ gc: { before, opened, after: fds(), rounds } });
}

async function contract() {
  const result = {};
  // close() from inside onData: no call after it, no crash when the handle goes.
  let calls = 0;
  const h = netlinkOpen(() => {
    calls++;
    h.close();
    h.close();
  });
  h.dump('link');
  // An exception thrown by onData is an uncaught exception; the socket keeps working.
  const uncaught = [];
  const onUncaught = (e) => uncaught.push(e.message);
  process.on('uncaughtException', onUncaught);
  let batches = 0;
  const t = netlinkOpen(() => {
    batches++;
    if (batches === 1) throw new Error('thrown by onData');
  });
  t.dump('link');
  for (let i = 0; i < 100 && batches < 1; i++) await sleep(10);
  t.dump('addr'); // the link dump is over once its NLMSG_DONE was read (same batch here)
  for (let i = 0; i < 100 && batches < 2; i++) await sleep(10);
  await sleep(50);
  process.off('uncaughtException', onUncaught);
  t.close();
  result.closeInside = { calls };
  result.throwing = { uncaught, batches };
  try {
    h.dump('link');
  } catch (e) {
    result.dumpAfterClose = errorShape(e);
  }
  for (const [label, fn] of [
    ['notFunction', () => netlinkOpen(42)],
    ['badWhat', () => t.dump('route')],
    ['detached', () => t.dump.call({}, 'link')],
  ]) {
    try {
      fn();
      result[label] = null;
    } catch (e) {
      result[label] = errorShape(e);
    }
  }
  out({ contract: result });
}

// A Worker's environment is torn down with the sockets still open: the addon's cleanup hook
// must close them (and Node wait for the close callbacks), or fds leak or the process crashes.
async function workers() {
  await turn();
  const before = fds();
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(workerData.addon);
    const a = addon.netlinkOpen(() => {});
    a.dump('link');
    addon.netlinkOpen(() => {});
    if (workerData.exit) setTimeout(() => process.exit(0), 50);
    parentPort.postMessage('open');`;
  for (const exit of [false, true, false, true]) {
    const w = new Worker(code, { eval: true, workerData: { addon: nativeAddonPath(), exit } });
    await once(w, 'message');
    if (!exit) await w.terminate();
    else await once(w, 'exit');
  }
  await turn();
  await turn();
  out({ worker: { before, after: fds() } });
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const cmd = JSON.parse(line);
  try {
    if (cmd.op === 'watch') await watch(cmd.device);
    else if (cmd.op === 'state') out({ state: plain(watcher.state()) });
    else if (cmd.op === 'block') block(cmd.flag);
    else if (cmd.op === 'churn') await churn(cmd.device, cmd.n);
    else if (cmd.op === 'gc') await collect(cmd.n);
    else if (cmd.op === 'contract') await contract();
    else if (cmd.op === 'worker') await workers();
    else if (cmd.op === 'exit') break;
  } catch (e) {
    out({ error: errorShape(e) });
  }
}
watcher?.close();
process.exit(0);
