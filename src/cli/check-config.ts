// `vrf-resolver check-config FILE`: what the systemd unit runs before starting an instance
// (as Debian's dnsmasq@ unit does with --test). It loads exactly what `run` would load and
// prints either every problem, one per line with its place, or the effective settings.

import { ConfigError } from '../errors.js';
import { loadConfig, type CliFlags } from '../config/load.js';
import { formatEndpoint, formatServer } from '../config/endpoint.js';
import type { Config, TlsConfig } from '../config/types.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly text: string;
}

/** Other errors than ConfigError (a bug) propagate. */
export function checkConfig(file: string, flags: CliFlags): CheckResult {
  let config: Config;
  try {
    config = loadConfig({ file, dropInDir: 'auto', flags });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.problems.map((p) => `${p.path}: ${p.message}`);
    const n = err.problems.length;
    lines.push(`${file}: ${n} problem${n === 1 ? '' : 's'}, not valid`);
    return { ok: false, text: lines.join('\n') + '\n' };
  }
  return { ok: true, text: summarize(file, config) };
}

export function summarize(file: string, c: Config): string {
  const device = (d: string | null): string => (d === null ? 'default VRF, no device' : `device ${d}`);
  const { cache, upstream, server } = c;
  const rows: [string, string][] = [
    ['VRF', c.vrf ?? 'none (default VRF)'],
    ['Listen', `${server.listen.map(formatEndpoint).join(' ')} (UDP and TCP, ${device(c.vrf)})`],
    ['Upstreams', `${upstream.servers.map(formatServer).join(' ')} (${device(upstream.device)}; ` +
      `${upstream.serverSelection === 'rtt' ? 'fastest first' : 'in this order'})`],
    ['  from', c.sources.join(', ')],
    ...(upstream.routes ?? []).map((r, i): [string, string] =>
      [i === 0 ? 'Forward' : '', `${r.domain} -> ${r.servers.map(formatServer).join(' ')}`]),
    ['TLS', tlsSummary(upstream.tls)],
    ['Timeouts', `${upstream.attemptTimeoutMs} ms per server, ${upstream.queryTimeoutMs} ms per query, ` +
      `at most ${upstream.maxInflight} questions in flight`],
    ['Cache', cache.enabled
      ? `on, ${cache.maxEntries} entries, TTL ${cache.minTtlSec}..${cache.maxTtlSec} s, ` +
        `negative <= ${cache.negativeMaxTtlSec} s, failures ${cache.failureTtlSec} s`
      : 'off'],
    ['UDP', `EDNS ${upstream.ednsUdpSize} bytes upstream${upstream.randomizeCase ? ', names in random case (0x20)' : ''}, ` +
      `replies <= ${server.maxUdpSize} bytes to clients`],
    ['TCP', `${server.tcpMaxConnections} connections, ${server.tcpMaxPipelined} pipelined each, ` +
      `idle timeout ${server.tcpIdleTimeoutMs} ms`],
    ['Log level', c.logLevel],
  ];
  const body = rows.map(([k, v]) => `${(k === '' ? '' : `${k}:`).padEnd(12)}${v}`);
  return [`${file}: OK`, ...body].join('\n') + '\n';
}

function tlsSummary(t: TlsConfig): string {
  if (t.mode === 'no') return 'off (plain DNS; DNSOverTLS=yes to encrypt)';
  if (t.mode === 'opportunistic') return 'opportunistic (certificates not checked; plain DNS when TLS fails)';
  const trust = t.pinsSha256.length > 0 ? `${t.pinsSha256.length} SPKI pin(s)` : `certificates from ${t.caFile ?? "Node's CA store"}, checked against #NAME or the address`;
  return `yes (strict: ${trust})`;
}
