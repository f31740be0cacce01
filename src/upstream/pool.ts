// Asks the upstream servers one question: in health order, each for at most attemptTimeoutMs,
// the whole for at most queryTimeoutMs. A reply is used only when it is well formed, answers our
// question, and says NOERROR or NXDOMAIN; TC=1 repeats the question to the same server over TCP
// (RFC 7766 section 5); SERVFAIL, REFUSED, NOTIMP, FORMERR, a timeout or a network error move on
// to the next server. Every failure is logged once at warn with its stable code.
// With DNSOverTLS= every question goes over TLS (tls.ts), padded (RFC 8467). Opportunistic TLS
// falls back to plain DNS for a server whose TLS connection fails, and asks it in plain for
// TLS_RETRY_MS before trying TLS again, with one warn line each time (RFC 8310 section 5).

import type { Logger } from 'pino';
import { ResolverError, UpstreamError, type ErrorCode } from '../errors.js';
import { F2_TC, HEADER_LEN, RCODE } from '../dns/constants.js';
import { WireError } from '../dns/name.js';
import { parseReply } from '../dns/message.js';
import { buildAnswer, type Answer, type TtlPolicy } from '../dns/answer.js';
import { randomizeCase, upstreamQuery } from '../dns/synth.js';
import type { Query } from '../dns/query.js';
import type { ResolveSink } from '../resolver.js';
import type { Clock } from '../clock.js';
import type { Stats } from '../stats.js';
import type { ServerSelection, UpstreamHealth } from './health.js';
import type { UpstreamServer } from './server.js';
import type { TcpExchange } from './tcp.js';
import { udpExchangeOnce, type ReplySink, type UdpExchange } from './udp.js';
import { toUpstreamServer } from './server.js';
import { QUERY_PAD_BLOCK } from './tls.js';
import { ConnectFailedError } from './tcp-connection.js';
import { DOT_PORT } from '../config/tls.js';
import type { DnsOverTls } from '../config/types.js';
import { randomU16 } from '../random.js'; // query IDs from a CSPRNG (RFC 5452 section 9.2)

export interface PoolOptions {
  /** no: UDP (TCP on TC=1). yes: TLS only. opportunistic: TLS, else UDP. */
  readonly dnsOverTls?: DnsOverTls;
  /** The order servers are tried in (health.ts); absent: ordered. */
  readonly serverSelection?: ServerSelection;
  /** RandomizeCase=: a random letter case in the name of each UDP query (0x20). */
  readonly randomizeCase?: boolean;
  /** The servers this pool asks (a Forward= route's); absent: all of the health's. */
  readonly servers?: readonly UpstreamServer[];
  readonly attemptTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly ednsUdpSize: number;
  readonly ttl: TtlPolicy;
}

export interface PoolDeps {
  readonly health: UpstreamHealth;
  readonly udp: UdpExchange;
  readonly tcp: TcpExchange;
  /** The TLS exchange (tls.ts); needed when dnsOverTls is not 'no'. */
  readonly tls?: TcpExchange;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: Stats;
}

/** Passes over the server list within one query's time (a second pass covers one lost datagram). */
const MAX_PASSES = 2;

/** Opportunistic TLS: how long a server whose TLS failed is asked in plain DNS before TLS again. */
export const TLS_RETRY_MS = 60_000;

/** RandomizeCase=: how long a server that does not keep the case is asked without it. */
export const CASE_RETRY_MS = 3_600_000;

export class UpstreamPool {
  /** Opportunistic TLS: servers asked in plain DNS until then (clock ms), by label. */
  private readonly plainUntil = new Map<string, number>();
  /** RandomizeCase=: servers asked without a random case until then (clock ms), by label. */
  private readonly sameCaseUntil = new Map<string, number>();

  constructor(
    private readonly opts: PoolOptions,
    private readonly deps: PoolDeps,
  ) {}

  /**
   * Asks the servers `q`; the answer or the failure goes to `sink` (resolver.ts), never before
   * this returns. A state object and callbacks, not an async frame: a waiting miss holds what
   * its wait is made of (issue 13), and the loop over passes and servers is next() below.
   */
  resolve(q: Query, sink: ResolveSink): void {
    const a = new Attempts(this, q, sink, this.deps.clock.now() + this.opts.queryTimeoutMs, this.order());
    if (!this.next(a)) queueMicrotask(() => this.exhausted(a)); // no server to ask at all
  }

  /**
   * The attempt's reply (Attempts' callback): over TCP again when truncated, else checked and
   * handed on; an unusable one fails the attempt. `raw` is valid only during the call
   * (ReplySink): nothing here keeps it.
   */
  replied(a: Attempts, raw: Buffer): void {
    if (raw[2]! & F2_TC) {
      const left = a.timeoutMs - (this.deps.clock.now() - a.started);
      settle(this.overTcp(a.server, a.q, question(a.q), left), a);
      return;
    }
    let answer: Answer;
    try {
      answer = this.answered(a.server, a.q, raw, a.started);
    } catch (e) {
      this.attemptFailed(a, e);
      return;
    }
    a.sink.resolved(answer, a.server.label);
  }

  /** The attempt failed (Attempts' callback): counted and logged, and the next server is asked. */
  attemptFailed(a: Attempts, e: unknown): void {
    a.last = e;
    this.failed(a.server, e, a.started);
    if (!this.next(a)) this.exhausted(a);
  }

  /**
   * Starts the next attempt: the next server of this pass, in health order, then a second pass.
   * False when the passes are done or the question's time is up.
   */
  private next(a: Attempts): boolean {
    for (;;) {
      if (a.index >= a.servers.length) {
        if (++a.pass >= MAX_PASSES) return false;
        a.servers = this.order();
        a.index = 0;
        continue;
      }
      const server = a.servers[a.index++]!;
      const now = this.deps.clock.now();
      const timeoutMs = this.attempting(server, a.deadline - now);
      if (timeoutMs <= 0) return false;
      a.server = server;
      a.started = now;
      a.timeoutMs = timeoutMs;
      this.ask(a);
      return true;
    }
  }

  private exhausted(a: Attempts): void {
    a.sink.failed(new ResolverError('VR_ERR_ALL_UPSTREAMS_FAILED', `no upstream answered within ${this.opts.queryTimeoutMs} ms`, {
      cause: a.last,
    }));
  }

  private order(): readonly UpstreamServer[] {
    return this.deps.health.order(this.opts.serverSelection, this.opts.servers);
  }

  /** An attempt at `server` begins, counted: its time, or 0 when the question's time is up (`left` ms). */
  private attempting(server: UpstreamServer, left: number): number {
    if (left <= 0) return 0;
    this.deps.stats.upstreamQueries++;
    this.deps.health.attempt(server);
    return Math.min(this.opts.attemptTimeoutMs, left);
  }

  /** The reply checked and turned into the answer; the server's health hears of it. Throws when unusable. */
  private answered(server: UpstreamServer, q: Query, raw: Buffer, started: number): Answer {
    const answer = this.checked(server, q, raw);
    this.deps.health.success(server, this.deps.clock.now() - started);
    return answer;
  }

  /** An attempt failed: counted, the server's health told, one warn line with the stable code. */
  private failed(server: UpstreamServer, e: unknown, started: number): void {
    this.deps.stats.upstreamFailures++;
    const code: ErrorCode = e instanceof ResolverError ? e.code : 'VR_ERR_UPSTREAM_NETWORK';
    this.deps.health.failure(server, code, this.deps.clock.now() - started);
    this.deps.log.warn({ code, upstream: server.label, err: (e as Error).message }, 'upstream failed');
  }

  /**
   * One attempt: over TLS, else over UDP (the reply may be truncated: replied() then asks over
   * TCP). The common path, plain UDP, is callbacks all the way; the others are promises.
   */
  private ask(a: Attempts): void {
    const { server, q, timeoutMs } = a;
    if (this.opts.dnsOverTls && this.opts.dnsOverTls !== 'no') {
      settle(this.overTls(server, q, question(q), timeoutMs), a);
      return;
    }
    // upstreamQuery copies the question to the same offset: it ends at q.questionEnd there too.
    const query = upstreamQuery(q, randomU16(), this.opts.ednsUdpSize);
    if (!this.opts.randomizeCase || (this.sameCaseUntil.get(server.label) ?? 0) > this.deps.clock.now()) {
      this.deps.udp(server, query, q.questionEnd, timeoutMs, a);
      return;
    }
    settle(this.overUdpRandomCase(server, q, query, timeoutMs), a);
  }

  /** The reply over TLS; in opportunistic mode over plain DNS when TLS to this server fails. */
  private async overTls(server: UpstreamServer, q: Query, question: Buffer, timeoutMs: number): Promise<Buffer> {
    const { clock, log, tls } = this.deps;
    const opportunistic = this.opts.dnsOverTls === 'opportunistic';
    if (opportunistic && (this.plainUntil.get(server.label) ?? 0) > clock.now()) return this.plain(server, q, question, timeoutMs);
    const started = clock.now();
    try {
      // Opportunistic: TLS gets half the attempt, so a port 853 that drops the SYN (a firewall)
      // still leaves time to ask in plain DNS.
      const tlsMs = opportunistic ? Math.max(1, Math.floor(timeoutMs / 2)) : timeoutMs;
      const raw = await tls!(server, upstreamQuery(q, randomU16(), this.opts.ednsUdpSize, QUERY_PAD_BLOCK), question, tlsMs);
      if (raw[2]! & F2_TC) throw new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', server.label, 'TC=1 over TLS');
      return raw;
    } catch (e) {
      // Only a connection that could not be made (or secured) falls back: a server that
      // answers badly over TLS has answered, and is judged on that.
      const code = e instanceof ResolverError ? e.code : null;
      const left = timeoutMs - (clock.now() - started);
      const unconnected = e instanceof ConnectFailedError || code === 'VR_ERR_UPSTREAM_TLS';
      if (!opportunistic || !unconnected || left < 1) throw e;
      this.plainUntil.set(server.label, clock.now() + TLS_RETRY_MS);
      log.warn({ code, upstream: server.label, err: (e as Error).message, retryTlsInSec: TLS_RETRY_MS / 1000 },
        'DNS over TLS failed (DNSOverTLS=opportunistic): asking this server in plain DNS');
      return this.plain(server, q, question, left);
    }
  }

  /**
   * Opportunistic TLS fell back: the reply in plain DNS (plainServer: port 53 for 853), over UDP,
   * or over TCP when the UDP reply is truncated (RFC 7766 section 5).
   */
  private async plain(server: UpstreamServer, q: Query, question: Buffer, timeoutMs: number): Promise<Buffer> {
    const started = this.deps.clock.now();
    const plain = plainServer(server);
    const query = upstreamQuery(q, randomU16(), this.opts.ednsUdpSize);
    const raw = await udpExchangeOnce(this.deps.udp, plain, query, q.questionEnd, timeoutMs);
    return raw[2]! & F2_TC ? this.overTcp(plain, q, question, timeoutMs - (this.deps.clock.now() - started), server) : raw;
  }

  /**
   * RFC 2181 section 9: a truncated reply is never used or cached; the question goes again over
   * TCP. `configured`: the server as health knows it (`server` may be its plain-DNS twin).
   */
  private async overTcp(server: UpstreamServer, q: Query, question: Buffer, timeoutMs: number, configured = server): Promise<Buffer> {
    this.deps.stats.tcpFallbacks++;
    this.deps.health.tcpFallback(configured);
    const raw = await this.deps.tcp(server, upstreamQuery(q, randomU16(), this.opts.ednsUdpSize), question, Math.max(1, timeoutMs));
    if (raw[2]! & F2_TC) throw new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', server.label, 'TC=1 over TCP');
    return raw;
  }

  /**
   * RandomizeCase=: the name goes out in a random letter case and only a reply that keeps it
   * counts; a server that answers without keeping it (some load balancers and old servers
   * lowercase names) is asked again at once in the client's case, and so for CASE_RETRY_MS,
   * with one warn line. A forger cannot cause that without the ID and port.
   */
  private async overUdpRandomCase(server: UpstreamServer, q: Query, query: Buffer, timeoutMs: number): Promise<Buffer> {
    const { clock, log, udp } = this.deps;
    randomizeCase(query, HEADER_LEN, q.questionEnd - 4);
    const started = clock.now();
    try {
      return await udpExchangeOnce(udp, server, query, q.questionEnd, timeoutMs, true);
    } catch (e) {
      const left = timeoutMs - (clock.now() - started);
      if (!(e instanceof ResolverError) || e.code !== 'VR_ERR_UPSTREAM_CASE') throw e;
      this.sameCaseUntil.set(server.label, clock.now() + CASE_RETRY_MS);
      log.warn({ code: e.code, upstream: server.label, err: e.message, retryCaseInSec: CASE_RETRY_MS / 1000 },
        'upstream does not keep the letter case of queries (RandomizeCase=yes): asking it without');
      if (left < 1) throw e;
      return udpExchangeOnce(udp, server, upstreamQuery(q, randomU16(), this.opts.ednsUdpSize), q.questionEnd, left);
    }
  }

  private checked(server: UpstreamServer, q: Query, raw: Buffer): Answer {
    try {
      const reply = parseReply(raw);
      // The exchanges match the question already (RFC 5452 section 3); serving depends on it
      // (the client's question is patched over the stored one), so it is checked here again.
      if (reply.qnameKey !== q.nameKey || reply.qtype !== q.qtype || reply.qclass !== q.qclass) {
        throw new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', server.label, 'reply is for another question');
      }
      if (reply.rcode !== RCODE.NOERROR && reply.rcode !== RCODE.NXDOMAIN) throw failureFor(server, reply.rcode);
      return buildAnswer(reply, q.edns !== null && q.edns.do, this.opts.ttl);
    } catch (e) {
      if (e instanceof WireError) throw new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', server.label, e.message);
      throw e;
    }
  }
}

/**
 * The server for plain DNS after TLS failed: a server asked for TLS on 853 (the default with
 * DNSOverTLS=) answers plain DNS on 53; any other port is kept, and so is its device.
 */
function plainServer(server: UpstreamServer): UpstreamServer {
  if (server.endpoint.port !== DOT_PORT) return server;
  const { tlsName: _name, ...endpoint } = server.endpoint;
  return toUpstreamServer({ ...endpoint, port: 53 });
}

function failureFor(server: UpstreamServer, rcode: number): UpstreamError {
  if (rcode === RCODE.SERVFAIL) return new UpstreamError('VR_ERR_UPSTREAM_SERVFAIL', server.label, 'answered SERVFAIL');
  return new UpstreamError('VR_ERR_UPSTREAM_REFUSED', server.label, `answered rcode ${rcode}`);
}

/**
 * One question's way through the servers: where it stands (pass, server, this attempt's start
 * and time) and the sink its exchange reports to. Its methods hand each outcome to the pool.
 */
class Attempts implements ReplySink {
  pass = 0;
  index = 0;
  server!: UpstreamServer;
  started = 0;
  timeoutMs = 0;
  /** The last attempt's failure: the cause in VR_ERR_ALL_UPSTREAMS_FAILED. */
  last: unknown = null;

  constructor(
    private readonly pool: UpstreamPool,
    readonly q: Query,
    readonly sink: ResolveSink,
    /** Clock ms when the question's time (queryTimeoutMs) is up. */
    readonly deadline: number,
    /** This pass's servers, in health order. */
    public servers: readonly UpstreamServer[],
  ) {}

  replied(raw: Buffer): void {
    this.pool.replied(this, raw);
  }

  failed(e: unknown): void {
    this.pool.attemptFailed(this, e);
  }
}

/** A promise's outcome to a sink: the paths that are promises (TCP, TLS, RandomizeCase=) end here. */
function settle(p: Promise<Buffer>, sink: ReplySink): void {
  p.then(
    (raw) => sink.replied(raw),
    (e: unknown) => sink.failed(e as Error),
  );
}

/** The question section of the client's query, for the TCP and TLS exchanges. */
function question(q: Query): Buffer {
  return q.msg.subarray(HEADER_LEN, q.questionEnd);
}
