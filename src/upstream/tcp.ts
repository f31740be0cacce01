// TCP exchanges with upstream servers (RFC 7766): used when a UDP reply came back with TC=1.
// One connection per server, reused and pipelined (tcp-connection.ts), so a burst of truncated
// answers costs one handshake, not one each. A query whose reused connection the server closed
// under it (an idle close racing our write) is asked once more on a fresh connection.

import type { SocketFactory } from '../net/socket-factory.js';
import { ConnectionLostError, TcpConnection, tcpConnector, type Connector } from './tcp-connection.js';
import type { UpstreamServer } from './server.js';

export interface TcpExchange {
  (server: UpstreamServer, query: Buffer, question: Buffer, timeoutMs: number): Promise<Buffer>;
}

export interface TcpExchangeOptions {
  /**
   * How long a connection with nothing in flight stays open. 10 s: long enough to carry a
   * burst of truncated answers, shorter than the idle timeouts of common servers (Unbound's
   * tcp-idle-timeout and BIND's tcp-idle-timeout are 30 s), so we close first (RFC 7766 6.2.3).
   */
  readonly idleTimeoutMs?: number;
}

export const TCP_IDLE_TIMEOUT_MS = 10_000;

export function createTcpExchange(factory: SocketFactory, opts: TcpExchangeOptions = {}): TcpExchange {
  return createStreamExchange(tcpConnector(factory), opts.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS);
}

/** Exchanges over reused stream connections, one per server, made by `connector` (TCP or TLS). */
export function createStreamExchange(connector: Connector, idleTimeoutMs: number): TcpExchange {
  const connections = new Map<string, TcpConnection>();
  const connectionTo = (server: UpstreamServer): TcpConnection => {
    let c = connections.get(server.label);
    if (c === undefined || c.closed) {
      c = new TcpConnection(connector, server, idleTimeoutMs, (gone) => {
        if (connections.get(server.label) === gone) connections.delete(server.label);
      });
      connections.set(server.label, c);
    }
    return c;
  };
  return async (server, query, question, timeoutMs) => {
    const started = performance.now();
    try {
      return await connectionTo(server).ask(query, question, timeoutMs);
    } catch (e) {
      const left = timeoutMs - (performance.now() - started);
      if (!(e instanceof ConnectionLostError) || left < 1) throw e;
      // The lost connection is gone from the map: this is a new one.
      return connectionTo(server).ask(query, question, left);
    }
  };
}
