// `vrf-resolver status` for people: one block per instance, as resolvectl status prints a link.

import type { CacheStatus, StatusReport, UpstreamStatus } from '../../control/types.js';
import { plural } from '../text.js';
import { type Line, formatBytes, formatDuration, formatMs, render } from './layout.js';

export function renderStatus(r: StatusReport): string {
  const lines: Line[] = [
    { header: `Instance ${r.instance}` },
    { key: 'Version', value: `${r.version} (pid ${r.pid})` },
    { key: 'Uptime', value: `${formatDuration(r.uptimeSec)} (since ${r.startedAt})` },
    { key: 'VRF', value: r.vrf.name === null ? 'none (default VRF)' : `${r.vrf.name}${r.vrf.ifindex === null ? '' : ` (ifindex ${r.vrf.ifindex})`}` },
    { key: 'Upstream device', value: r.upstreamDevice ?? 'none (default VRF)' },
    { key: 'Listeners', value: r.listeners },
    { key: 'Config files', value: r.configFiles },
    { key: 'Control socket', value: r.controlSocket ?? 'off' },
    { key: 'Metrics', value: r.metrics ?? 'off' },
    { key: 'Log level', value: r.logLevel },
    { key: 'Upstream servers', value: r.upstreams.map(upstreamLine) },
    { key: 'Cache', value: cacheLine(r.cache) },
    { key: 'In flight', value: plural(r.inflight, 'question') },
  ];
  return render(lines);
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
