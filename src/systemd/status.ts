// The one-line STATUS= that `systemctl status vrf-resolver@NAME` shows:
//   "udp+tcp 127.0.0.1:53 [::1]:53 on mgmt; upstreams 192.0.2.53:53; cache 12/10000; 345 queries"

import type { App } from '../app.js';
import { formatEndpoint } from '../config/endpoint.js';

export function statusLine(app: App): string {
  const config = app.currentConfig;
  // Labels are "udp 127.0.0.1:53 on mgmt", "tcp [::1]:53 on mgmt (from systemd, dns)".
  const byAddress = new Map<string, Set<string>>();
  for (const label of app.listenerLabels) {
    const m = /^(udp|tcp) (\S+)/.exec(label);
    if (!m) continue;
    const set = byAddress.get(m[2]!) ?? new Set<string>();
    set.add(m[1]!);
    byAddress.set(m[2]!, set);
  }
  const groups = new Map<string, string[]>();
  for (const [addr, protos] of byAddress) {
    const key = [...protos].sort().reverse().join('+'); // "udp+tcp"
    groups.set(key, [...(groups.get(key) ?? []), addr]);
  }
  const listening = [...groups].map(([protos, addrs]) => `${protos} ${addrs.join(' ')}`).join(', ') || 'no listener';
  const gone = app.device.present ? '' : ' (GONE: waiting for it to be created again)';
  const waiting = app.pendingListenerLabels.length > 0 ? `; waiting for ${app.pendingListenerLabels.length} listen address${app.pendingListenerLabels.length === 1 ? '' : 'es'}` : '';
  const where = config.vrf === null ? '' : ` on ${config.vrf}${gone}${waiting}`;
  const activated = app.socketActivated ? ' (socket-activated)' : '';
  const cache = app.cache === null ? 'cache off' : `cache ${app.cache.size}/${config.cache.maxEntries}`;
  const upstreams = config.upstream.servers.map(formatEndpoint).join(' ');
  return `${listening}${where}${activated}; upstreams ${upstreams}; ${cache}; ${app.stats.queries} queries`;
}
