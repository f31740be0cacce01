// `vrf-resolver status` for people: one block per instance, as resolvectl status prints a link.

import type { CacheStatus, StatusReport, UpstreamStatus, WorkerStatus } from '../../control/types.js';
import { plural } from '../text.js';
import { type Line, formatBytes, formatDuration, formatMs, render } from './layout.js';

export function renderStatus(r: StatusReport): string {
  const lines: Line[] = [
    { header: `Instance ${r.instance}` },
    { key: 'Version', value: `${r.version} (pid ${r.pid})` },
    { key: 'Uptime', value: `${formatDuration(r.uptimeSec)} (since ${r.startedAt})` },
    { key: 'VRF', value: vrfLine(r.vrf) },
    { key: 'Upstream device', value: r.upstreamDevice ?? 'none (default VRF)' },
    { key: 'Listeners', value: r.listeners.length > 0 ? r.listeners : 'none' },
    ...(r.waitingListeners !== undefined ? [{ key: 'Waiting', value: r.waitingListeners.map((l) => `${l} (the address or the device is not there yet)`) }] : []),
    { key: 'Config files', value: r.configFiles },
    { key: 'Control socket', value: r.controlSocket ?? 'off' },
    { key: 'Metrics', value: r.metrics ?? 'off' },
    { key: 'Log level', value: r.logLevel },
    { key: 'Upstream servers', value: r.upstreams.map(upstreamLine) },
    ...(r.routes !== undefined ? [{ key: 'Forward', value: r.routes.map((x) => `${x.domain} -> ${x.servers.join(' ')}`) }] : []),
    { key: 'Cache', value: cacheLine(r.cache) },
    { key: 'In flight', value: plural(r.inflight, 'question') },
    ...(r.workers !== undefined ? [{ key: 'Workers', value: r.workers.map(workerLine) }] : []),
  ];
  return render(lines);
}

function workerLine(w: WorkerStatus): string {
  const restarts = w.restarts > 0 ? `, started again ${plural(w.restarts, 'time')}` : '';
  if (w.queries === null) return `${w.worker}: ${w.state}${restarts}`;
  const waiting = w.waitingListeners !== undefined ? `, ${plural(w.waitingListeners.length, 'listener')} waiting` : '';
  return `${w.worker}: ${w.state}, ${plural(w.queries, 'query', 'queries')}, ${plural(w.cacheEntries ?? 0, 'cache entry', 'cache entries')}, ` +
    `${w.inflight ?? 0} in flight${waiting}${restarts}`;
}

function vrfLine(v: StatusReport['vrf']): string {
  if (v.name === null) return 'none (default VRF)';
  if (v.present === false) return `${v.name}: GONE (deleted; answering nothing until it is created again)`;
  const index = v.ifindex === null ? '' : ` (ifindex ${v.ifindex}${v.following === true ? ', followed' : ''})`;
  return `${v.name}${index}`;
}

export function upstreamLine(u: UpstreamStatus): string {
  const state = u.state === 'healthy' ? 'healthy' : `backing off until ${u.backoffUntil ?? '?'}`;
  const failures = `${plural(u.failures, 'failure')} (${u.consecutiveFailures} in a row)`;
  const last = u.lastError === null ? '' : `, last error ${u.lastError.code} at ${u.lastError.at}`;
  return `${u.server}: ${state}, RTT ${formatMs(u.rttMs)}, ${failures}${last}`;
}

function cacheLine(c: CacheStatus): string {
  if (!c.enabled) return 'off';
  return `${plural(c.entries, 'entry', 'entries')}, ${formatBytes(c.bytes)} ` +
    `(limits ${plural(c.maxEntries, 'entry', 'entries')}, ${formatBytes(c.maxBytes)})`;
}
