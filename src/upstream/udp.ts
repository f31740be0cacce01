// One UDP exchange with one upstream server. Each exchange has its own socket on a port the
// kernel picks at random and a random ID (RFC 5452 section 9), bound to the VRF by the socket
// factory. The socket is not connected, so we see every datagram that reaches it and count the
// ones that are not the answer: from another address or port (spoofedReplies), or from the
// server with a wrong ID or question (mismatchedReplies). Only a matching reply settles it.

import { UpstreamError } from '../errors.js';
import { replyMatches } from '../dns/message.js';
import type { ExchangeSink, SocketFactory, UdpExchangeSocket } from '../net/socket-factory.js';
import type { Clock } from '../clock.js';
import { Deadline, Deadlines } from './deadlines.js';
import type { Stats } from '../stats.js';
import type { UpstreamServer } from './server.js';

export interface UdpExchange {
  /**
   * `exactCase`: the query's name has a random letter case (RandomizeCase=), and only a reply
   * that keeps it counts. Replies from the server that differ in case alone are ignored as
   * forgeries would be; if no other reply comes, the attempt fails with VR_ERR_UPSTREAM_CASE
   * (the server does not keep case) rather than a plain timeout.
   */
  (server: UpstreamServer, query: Buffer, question: Buffer, timeoutMs: number, exactCase?: boolean): Promise<Buffer>;
}

export function createUdpExchange(factory: SocketFactory, stats: Stats, clock: Clock): UdpExchange {
  const deadlines = new Deadlines(clock);
  return (server, query, question, timeoutMs, exactCase = false) =>
    new Promise<Buffer>((resolve, reject) => {
      const x = new Exchange(server, query.readUInt16BE(0), question, exactCase, timeoutMs, stats, deadlines, resolve, reject);
      try {
        x.sock = factory.udpExchange(server.endpoint.family, server.address, server.endpoint.port, query, x);
      } catch (e) {
        x.error(e as Error);
      }
      if (x.settled) x.sock?.close(); // failed inside udpExchange, before sock was set
    });
}

/**
 * One exchange in flight, in one object: its state, its place among the deadlines and the
 * sink the socket reports to (a miss holds this for its whole round trip, so it is kept small:
 * issue 13).
 */
class Exchange extends Deadline implements ExchangeSink {
  settled = false;
  sock: UdpExchangeSocket | null = null;
  /** Replies from the server that differ from the question in letter case alone. */
  private caseOnly = 0;

  constructor(
    private readonly server: UpstreamServer,
    private readonly id: number,
    private readonly question: Buffer,
    private readonly exactCase: boolean,
    private readonly timeoutMs: number,
    private readonly stats: Stats,
    private readonly deadlines: Deadlines,
    private readonly resolve: (reply: Buffer) => void,
    private readonly reject: (e: Error) => void,
  ) {
    super();
    deadlines.add(this, timeoutMs);
  }

  // No cap on stray datagrams: giving up would let a flood of forgeries beat the real reply.
  // Each costs a comparison; the attempt's timeout bounds the exchange.
  datagram(msg: Buffer, fromPeer: boolean): void {
    if (!fromPeer) this.stats.spoofedReplies++;
    else if (!replyMatches(msg, this.id, this.question, this.exactCase)) {
      this.stats.mismatchedReplies++;
      if (this.exactCase && replyMatches(msg, this.id, this.question)) this.caseOnly++;
    }
    // A copy: the factory may reuse msg's memory once we return (the helper's slots).
    else this.done(null, Buffer.from(msg));
  }

  error(e: Error): void {
    this.done(networkError(this.server, e));
  }

  expire(): void {
    const { caseOnly, server, timeoutMs } = this;
    this.done(caseOnly > 0
      ? new UpstreamError('VR_ERR_UPSTREAM_CASE', server.label, `${caseOnly} repl${caseOnly === 1 ? 'y' : 'ies'} within ${timeoutMs} ms, none keeping the query's letter case`)
      : new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', server.label, `no reply within ${timeoutMs} ms`));
  }

  private done(err: Error | null, reply?: Buffer): void {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.remove(this);
    this.sock?.close();
    if (err) this.reject(err);
    else this.resolve(reply!);
  }
}

/** A socket or send failure as the pool reports it: what failed and the errno name. */
function networkError(server: UpstreamServer, e: Error): UpstreamError {
  const { code, syscall } = e as NodeJS.ErrnoException;
  const what = syscall === 'sendto' || syscall === 'send' ? 'send failed' : 'cannot open a UDP socket';
  return new UpstreamError('VR_ERR_UPSTREAM_NETWORK', server.label, `${what}: ${code ?? e.message}`, { cause: e });
}
