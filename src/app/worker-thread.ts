// One worker thread of Workers= (app/workers.ts starts it): an App of its own, with listeners on
// the instance's addresses (SO_REUSEPORT) or duplicates of systemd's sockets, its own cache and
// upstream sockets, serving until the main thread says close. It answers the main thread's
// requests (worker-protocol.ts) and never exits by itself: a failure to start is reported and the
// thread ends; an uncaught error ends it too, and the main thread starts it again.

import { parentPort, workerData } from 'node:worker_threads';
import { App } from '../app.js';
import { flushCache, resetCounters, snapshotOf } from '../control/api.js';
import { closeLogger, createLogger } from '../log.js';
import { closeFd } from '../native/binding.js';
import { listenOnFd, type ActivatedSocket } from '../systemd/listen-fds.js';
import { deviceFactories, socketFactory } from './factories.js';
import type { FromWorker, PassedSocket, ToWorker, WorkerInit, WorkerRequest } from './worker-protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const root = createLogger(init.logLevel, init.config.vrf, undefined, init.logFormat);
const log = root.child({ worker: init.index });
const send = (m: FromWorker): void => port.postMessage(m);

async function start(): Promise<App> {
  const { config } = init;
  const activated = init.activated === null ? undefined : await adopt(init.activated);
  return App.start({
    config,
    listenFactory: socketFactory(config.vrf, log, { reusePort: true }),
    upstreamFactory: socketFactory(config.upstream.device, log),
    factoryFor: deviceFactories(),
    log,
    ...(activated !== undefined && { activated }),
    waitForAddresses: init.waitForAddresses || init.deviceGone,
  });
}

/** systemd's sockets, as this thread's duplicates: UDP to the batch listener, TCP to a net.Server. */
async function adopt(passed: readonly PassedSocket[]): Promise<ActivatedSocket[]> {
  const out: ActivatedSocket[] = [];
  let i = 0;
  try {
    for (; i < passed.length; i++) {
      const p = passed[i]!;
      const fd = { fd: p.fd, name: p.name };
      out.push(p.transport === 'udp'
        ? { transport: 'udp', endpoint: p.endpoint, fd }
        : { transport: 'tcp', endpoint: p.endpoint, server: await listenOnFd(p.fd), fd });
    }
  } catch (e) {
    for (const s of out) if (s.transport === 'tcp') s.server.close();
    for (const s of out) if (s.transport === 'udp') closeQuietly(s.fd.fd);
    for (const p of passed.slice(i)) closeQuietly(p.fd);
    throw e;
  }
  return out;
}

/** A duplicate nobody serves; Node may already have closed one it failed to adopt. */
function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    /* closed already */
  }
}

async function perform(app: App, r: WorkerRequest): Promise<unknown> {
  switch (r.op) {
    case 'reload': {
      const result = await app.reload(r.config);
      return { applied: result.applied, ...(result.error !== undefined && { error: result.error }) };
    }
    case 'deviceLost':
      return app.deviceLost();
    case 'openWaiting':
      return app.openWaiting();
    case 'snapshot':
      return snapshotOf(app);
    case 'flush':
      return flushCache(app, r.key);
    case 'resetStatistics':
      resetCounters(app);
      return null;
    case 'logLevel':
      log.level = r.level;
      return null;
    case 'cacheRemaining':
      return app.cache?.remainingSec(r.key) ?? null;
    case 'close':
      await app.close();
      log.info('worker stopped');
      await closeLogger(root);
      return null;
  }
}

start().then(
  (app) => {
    port.on('message', (m: ToWorker) => {
      perform(app, m).then(
        (value) => {
          send({ op: 'reply', id: m.id, ok: true, value: value ?? null });
          if (m.op === 'close') port.close();
        },
        (e: unknown) => send({ op: 'reply', id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
    });
    log.info({ listeners: app.listenerLabels, waiting: app.pendingListenerLabels }, 'worker ready');
    send({ op: 'started' });
  },
  async (e: unknown) => {
    const err = e as Error & { code?: string };
    log.error({ code: err.code, err: err.message }, 'worker cannot start');
    await closeLogger(root);
    send({ op: 'failed', error: err.message, ...(err.code !== undefined && { code: err.code }) });
    port.close();
  },
);
