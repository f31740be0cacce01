// One UDP exchange with one upstream server. Each exchange has its own socket on a port the
// kernel picks at random and a random ID (RFC 5452 section 9), bound to the VRF by the socket
// factory. The socket is not connected, so we see every datagram that reaches it and count the
// ones that are not the answer: from another address or port (spoofedReplies), or from the
// server with a wrong ID or question (mismatchedReplies). Only a matching reply settles it.

import { UpstreamError } from '../errors.js';
import { HEADER_LEN } from '../dns/constants.js';
import { replyMatches } from '../dns/message.js';
import { copyOf } from '../dns/copy.js';
import type { ExchangeSink, SocketFactory, UdpExchangeSocket } from '../net/socket-factory.js';
import type { Clock } from '../clock.js';
import { Deadlines, type Deadline } from './deadlines.js';
import type { Stats } from '../stats.js';
import type { UpstreamServer } from './server.js';
import { read16 } from '../dns/bytes.js';

/**
 * Where an exchange's outcome goes: exactly one call, and never before the call that started
 * the exchange has returned (a failure known at once is reported on the microtask queue).
 */
export interface ReplySink {
  /**
   * The reply: ours (ID, question: RFC 5452 section 3). Its bytes may be the socket factory's
   * (the helper's batch memory): valid only during the call, so a sink copies what it keeps.
   * The pool keeps nothing: it checks the reply and builds the answer from it at once.
   */
  replied(reply: Buffer): void;
  failed(e: Error): void;
}

export interface UdpExchange {
  /**
   * Sends `query`, whose question ends at `questionEnd`, to `server`; the reply or the failure
   * goes to `sink`. `exactCase`: the query's name has a random letter case (RandomizeCase=), and
   * only a reply that keeps it counts. Replies from the server that differ in case alone are
   * ignored as forgeries would be; if no other reply comes, the attempt fails with
   * VR_ERR_UPSTREAM_CASE (the server does not keep case) rather than a plain timeout.
   */
  (server: UpstreamServer, query: Buffer, questionEnd: number, timeoutMs: number, sink: ReplySink, exactCase?: boolean): void;
}

export function createUdpExchange(factory: SocketFactory, stats: Stats, clock: Clock): UdpExchange {
  const deadlines = new Deadlines(clock);
  return (server, query, questionEnd, timeoutMs, sink, exactCase = false) => {
    const x = new Exchange(server, query, questionEnd, exactCase, timeoutMs, stats, deadlines, sink);
    try {
      x.sock = factory.udpExchange(server.endpoint.family, server.address, server.endpoint.port, query, x);
    } catch (e) {
      // Known at once (no socket, the send refused): reported after this call returns, as
      // every outcome is, so that no caller sees its sink called in the middle of asking.
      x.cancel();
      queueMicrotask(() => x.error(e as Error));
    }
  };
}

/** The same exchange as a promise, for the paths that are rare (RandomizeCase=, TLS fallback) or one-off (`vrf-resolver query`). */
export function udpExchangeOnce(
  exchange: UdpExchange, server: UpstreamServer, query: Buffer, questionEnd: number, timeoutMs: number, exactCase = false,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sink: ReplySink = { replied: (reply) => resolve(copyOf(reply)), failed: reject };
    exchange(server, query, questionEnd, timeoutMs, sink, exactCase);
  });
}

/**
 * One exchange in flight, in one object: its state, its place among the deadlines and the
 * sink the socket reports to (a miss holds this for its whole round trip, so it is kept small:
 * issue 13). The query it keeps is what a reply is matched against.
 */
class Exchange implements Deadline, ExchangeSink {
  // Its place among the deadlines (deadlines.ts).
  dueAt = 0;
  prev: Deadline | null = null;
  next: Deadline | null = null;
  queued = false;
  private settled = false;
  sock: UdpExchangeSocket | null = null;
  /** Replies from the server that differ from the question in letter case alone. */
  private caseOnly = 0;

  constructor(
    private readonly server: UpstreamServer,
    private readonly query: Buffer,
    private readonly questionEnd: number,
    private readonly exactCase: boolean,
    private readonly timeoutMs: number,
    private readonly stats: Stats,
    private readonly deadlines: Deadlines,
    private readonly sink: ReplySink,
  ) {
    deadlines.add(this, timeoutMs);
  }

  // No cap on stray datagrams: giving up would let a flood of forgeries beat the real reply.
  // Each costs a comparison; the attempt's timeout bounds the exchange.
  datagram(msg: Buffer, fromPeer: boolean): void {
    if (this.settled) return;
    const { query, questionEnd, exactCase } = this;
    const id = read16(query, 0);
    if (!fromPeer) this.stats.spoofedReplies++;
    else if (!replyMatches(msg, id, query, HEADER_LEN, questionEnd, exactCase)) {
      this.stats.mismatchedReplies++;
      if (exactCase && replyMatches(msg, id, query, HEADER_LEN, questionEnd)) this.caseOnly++;
    } else {
      this.end();
      this.sink.replied(msg); // not a copy: valid during the call, as ReplySink says
    }
  }

  error(e: Error): void {
    if (this.settled) return;
    this.end();
    this.sink.failed(networkError(this.server, e));
  }

  expire(): void {
    if (this.settled) return;
    const { caseOnly, server, timeoutMs } = this;
    this.end();
    this.sink.failed(caseOnly > 0
      ? new UpstreamError('VR_ERR_UPSTREAM_CASE', server.label, `${caseOnly} repl${caseOnly === 1 ? 'y' : 'ies'} within ${timeoutMs} ms, none keeping the query's letter case`)
      : new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', server.label, `no reply within ${timeoutMs} ms`));
  }

  /** Off the deadlines before its error is reported (createUdpExchange: no socket to close). */
  cancel(): void {
    this.deadlines.remove(this);
  }

  /** Settled: off the deadlines, the socket closed, before the sink hears of it. */
  private end(): void {
    this.settled = true;
    this.deadlines.remove(this);
    this.sock?.close();
  }
}

/** A socket or send failure as the pool reports it: what failed and the errno name. */
function networkError(server: UpstreamServer, e: Error): UpstreamError {
  const { code, syscall } = e as NodeJS.ErrnoException;
  const what = syscall === 'sendto' || syscall === 'send' ? 'send failed' : 'cannot open a UDP socket';
  return new UpstreamError('VR_ERR_UPSTREAM_NETWORK', server.label, `${what}: ${code ?? e.message}`, { cause: e });
}
