// An in-process instance on real loopback sockets, for integration tests that need no device:
// App + plain socket factories + a Config literal with test-friendly timeouts.

import dgram from 'node:dgram';
import net from 'node:net';
import pino from 'pino';
import { App } from '../../src/app.js';
import type { Config, Endpoint, TlsConfig, UpstreamEndpoint } from '../../src/config/types.js';
import { createNativeSocketFactory } from '../../src/net/native-factory.js';
import { createPlainSocketFactory } from '../../src/net/plain-factory.js';
import { parseCidr, type Cidr } from '../../src/config/cidr.js';

export function cidr(text: string): Cidr {
  const p = parseCidr(text);
  if (!p.ok) throw new Error(p.message);
  return p.value;
}

export function testConfig(o: { listen: Endpoint[]; upstreams: UpstreamEndpoint[]; tls?: TlsConfig; serverSelection?: 'ordered' | 'rtt'; randomizeCase?: boolean; attemptTimeoutMs?: number; queryTimeoutMs?: number; tcpIdleTimeoutMs?: number; tcpMaxConnections?: number; tcpMaxConnectionsPerClient?: number; cache?: boolean; staleSec?: number; staleClientTimeoutMs?: number }): Config {
  return {
    vrf: null,
    server: {
      listen: o.listen,
      maxUdpSize: 1232,
      tcpIdleTimeoutMs: o.tcpIdleTimeoutMs ?? 2000,
      tcpMaxConnections: o.tcpMaxConnections ?? 16,
      tcpMaxConnectionsPerClient: o.tcpMaxConnectionsPerClient ?? 16,
      tcpMaxPipelined: 8,
    },
    upstream: {
      device: null,
      servers: o.upstreams,
      tls: o.tls ?? { mode: 'no', caFile: null, pinsSha256: [] },
      ...(o.serverSelection !== undefined && { serverSelection: o.serverSelection }),
      ...(o.randomizeCase === true && { randomizeCase: true }),
      attemptTimeoutMs: o.attemptTimeoutMs ?? 300,
      queryTimeoutMs: o.queryTimeoutMs ?? 1500,
      ednsUdpSize: 1232,
      maxInflight: 64,
    },
    cache: {
      enabled: o.cache ?? true,
      maxEntries: 1000,
      minTtlSec: 0,
      maxTtlSec: 86400,
      negativeMaxTtlSec: 3600,
      failureTtlSec: 2,
      maxMiB: 64,
      staleSec: o.staleSec ?? 0,
      staleClientTimeoutMs: o.staleClientTimeoutMs ?? 0,
    },
    access: { allowFrom: ['127.0.0.0/8', '::1/128'].map(cidr), denyAction: 'refuse' },
    control: { instance: 'test', socket: null, group: null, metrics: null },
    logLevel: 'silent',
    sources: ['test'],
  };
}

/** A port free for both UDP and TCP on `address` right now. */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const srv = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, address, () => resolve((srv.address() as net.AddressInfo).port));
    });
    await new Promise<void>((r) => srv.close(() => r()));
    const u = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const ok = await new Promise<boolean>((resolve) => {
      u.once('error', () => resolve(false));
      u.bind(port, address, () => resolve(true));
    });
    await new Promise<void>((r) => (ok ? u.close(() => r()) : r()));
    if (ok) return port;
  }
  throw new Error('no free port found in 20 tries');
}

/**
 * An instance on loopback. `native`: every socket from the native helper, as in production
 * (no device): UDP listeners served in batches (server/udp-batch.ts), upstream UDP exchanges
 * made by the helper (net/udp-upstream.ts).
 */
export async function startInstance(config: Config, o: { native?: boolean } = {}): Promise<App> {
  const factory = o.native ? createNativeSocketFactory(null) : createPlainSocketFactory();
  return App.start({ config, listenFactory: factory, upstreamFactory: factory, log: pino({ level: 'silent' }) });
}

/** One UDP DNS exchange from a fresh socket; null on timeout. */
export function udpAsk(address: string, port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, address);
  });
}
