// The operator's side of one instance: the ControlApi over the App, served on the control socket
// and (with Metrics=) on an HTTP listener inside the VRF. Neither is needed to serve DNS, so a
// failure to open one is logged with its code and the instance runs on without it. A reload
// re-applies ControlSocket=, ControlGroup= and Metrics= (cli/commands/run.ts calls apply()).

import type { Logger } from 'pino';
import type { App } from '../app.js';
import type { Config } from '../config/types.js';
import { formatEndpoint } from '../config/endpoint.js';
import type { SocketFactory } from '../net/socket-factory.js';
import { InstanceControl } from './api.js';
import { startControlServer, type ControlServer } from './server.js';
import type { ControlApi } from './types.js';

export interface ControlPlane {
  readonly api: ControlApi;
  /** Re-applies the control settings of a reloaded config. */
  apply(config: Config): Promise<void>;
  /** The VRF device was re-created: the metrics socket is bound to the old ifindex; open it again. */
  rebindMetrics(): Promise<void>;
  close(): Promise<void>;
}

export interface ControlPlaneDeps {
  readonly app: App;
  readonly log: Logger;
  readonly version: string;
  readonly startedAtMs: number;
  /** Sockets bound to the VRF device, as the DNS listeners get them: for the metrics listener. */
  readonly listenFactory: SocketFactory;
}

/** What runs, and the settings it was started with (a reload restarts it only when they change). */
interface Running<T> {
  readonly key: string;
  readonly handle: T;
}

export async function startControlPlane(deps: ControlPlaneDeps): Promise<ControlPlane> {
  const { app, log } = deps;
  let control: Running<ControlServer> | null = null;
  let metrics: Running<{ label: string; close(): Promise<void> }> | null = null;
  const api = new InstanceControl({
    app,
    log,
    version: deps.version,
    startedAtMs: deps.startedAtMs,
    endpoints: () => ({ controlSocket: control?.handle.path ?? null, metrics: metrics?.handle.label ?? null }),
  });

  const applyControl = async (config: Config): Promise<void> => {
    const { socket, group } = config.control;
    const key = socket === null ? '' : `${socket}\n${group ?? ''}`;
    if (control?.key === key) return;
    await control?.handle.close();
    control = null;
    if (socket === null) return;
    try {
      control = { key, handle: await startControlServer({ path: socket, group, api, log }) };
      log.info({ controlSocket: socket, ...(group !== null && { controlGroup: group }) }, 'control socket ready');
    } catch (e) {
      const err = e as Error & { code?: string };
      log.error({ code: err.code ?? 'VR_ERR_CONTROL_SOCKET', err: err.message }, 'no control socket; serving DNS without it');
    }
  };

  const applyMetrics = async (config: Config): Promise<void> => {
    const ep = config.control.metrics;
    const key = ep === null ? '' : formatEndpoint(ep);
    // A listener that failed to open is tried again at each reload.
    if (key === (metrics?.key ?? '') && (ep === null || metrics !== null)) return;
    await metrics?.handle.close();
    metrics = null;
    if (ep === null) return;
    try {
      // Imported only when Metrics= is set: prom-client costs about 5 MiB of RSS (issue 13).
      const { startMetricsListener } = await import('./metrics.js');
      const handle = await startMetricsListener({ api, endpoint: ep, factory: deps.listenFactory, log, vrf: config.vrf ?? 'default' });
      metrics = { key, handle };
      log.info({ metrics: handle.label }, 'metrics listener ready');
    } catch (e) {
      const err = e as Error & { code?: string };
      log.error({ code: err.code ?? 'VR_ERR_METRICS', err: err.message }, 'no metrics listener; serving DNS without it');
    }
  };

  const apply = async (config: Config): Promise<void> => {
    await applyControl(config);
    await applyMetrics(config);
  };
  await apply(app.currentConfig);
  return {
    api,
    apply,
    rebindMetrics: async () => {
      if (metrics === null && app.currentConfig.control.metrics === null) return;
      await metrics?.handle.close();
      metrics = null;
      await applyMetrics(app.currentConfig);
    },
    close: async () => {
      await control?.handle.close();
      await metrics?.handle.close();
      control = null;
      metrics = null;
    },
  };
}
