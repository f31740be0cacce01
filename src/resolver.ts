// The transport-free pipeline: query bytes in, reply bytes out (or null: send nothing).
// Read top to bottom, it is the path of ARCHITECTURE.md "A query's way through":
//   wire checks → cache → in-flight table → upstream pool → cache store → serve to this client.
// A cache hit returns synchronously (no promise on the hot path); a miss returns a promise (or,
// with MaxInflight reached, SERVFAIL at once).
// Nothing here throws: every failure becomes an rcode or a drop.

import type { Logger } from 'pino';
import { ResolverError } from './errors.js';
import { RCODE } from './dns/constants.js';
import { nameToText } from './dns/name.js';
import { rcodeName, typeName } from './dns/mnemonics.js';
import { parseQuery, type Query } from './dns/query.js';
import { errorForQuery, errorReply } from './dns/synth.js';
import { replyLimit, serveAnswer, servePacked, type Transport } from './dns/serve.js';
import type { DnsCache } from './cache/cache.js';
import type { PackedAnswer } from './dns/answer.js';
import type { Resolved } from './upstream/pool.js';
import type { Clock } from './clock.js';
import { countQtype, countRcode, type Stats } from './stats.js';

export interface QueryContext {
  readonly transport: Transport;
  /** "address:port" of the client, for logs. */
  readonly client: string;
  /** The client's address alone, for AllowFrom=. */
  readonly address: string;
}

export type HandleResult = Buffer | null | Promise<Buffer | null>;

/** What the pipeline needs from upstream: one answer per question (upstream/pool.ts). */
export interface Upstream {
  resolve(q: Query): Promise<Resolved>;
}

export interface ResolverOptions {
  /** Our EDNS size in replies and the cap on clients' UDP sizes (MaxUDPSize). */
  readonly maxUdpSize: number;
  readonly maxInflight: number;
  readonly failureTtlSec: number;
  /**
   * With an expired answer at hand (ServeStaleSec): how long a client waits for its refresh
   * before it gets the stale answer (RFC 8767 section 5, the client response timer). 0 or
   * absent: only once the refresh has failed.
   */
  readonly staleClientTimeoutMs?: number;
  /** Prefetch=: refresh popular answers in their last tenth (cache.ts, CacheHit.prefetch). */
  readonly prefetch?: boolean;
}

/** At most this share of MaxInflight goes to prefetches, so clients' misses always find room. */
export const PREFETCH_INFLIGHT_SHARE = 0.25;

export interface ResolverDeps {
  readonly cache: DnsCache | null;
  readonly upstream: Upstream;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: Stats;
}

type CacheOutcome = 'hit' | 'miss' | 'coalesced' | 'failure-cached' | 'overloaded' | 'stale';

export class Resolver {
  private readonly inflight = new Map<string, Promise<Resolved>>();
  /** Prefetches in flight (they are in `inflight` too). */
  private prefetching = 0;

  constructor(
    private readonly opts: ResolverOptions,
    private readonly deps: ResolverDeps,
  ) {}

  get inflightCount(): number {
    return this.inflight.size;
  }

  handle(msg: Buffer, ctx: QueryContext): HandleResult {
    const { stats, cache } = this.deps;
    this.arrived(ctx);
    const verdict = parseQuery(msg);
    if (verdict.kind === 'drop') {
      stats.dropped++;
      this.deps.log.debug({ client: ctx.client, fault: verdict.fault }, 'query dropped');
      return null;
    }
    if (verdict.kind === 'error') {
      this.countError(verdict.rcode);
      this.deps.log.debug({ client: ctx.client, fault: verdict.fault, rcode: rcodeName(verdict.rcode) }, 'query rejected');
      return errorReply(msg, verdict.rcode, verdict.questionEnd, verdict.edns, this.opts.maxUdpSize);
    }
    const q = verdict.query;
    countQtype(stats, q.qtype);
    const limit = replyLimit(q, ctx.transport, this.opts.maxUdpSize);
    const started = this.deps.clock.now();

    const hit = cache?.get(q.key);
    if (hit) {
      stats.cacheHits++;
      if (hit.failure) return this.fail(q, ctx, started, 'failure-cached', null);
      // Served before anything else can touch the cache: the hit reads the cache's own bytes.
      const reply = servePacked(hit, q, hit.remainingSec, limit, this.opts.maxUdpSize);
      countRcode(stats, hit.rcode);
      stats.hitLatency.observe(this.deps.clock.now() - started);
      this.logQuery(q, ctx, started, 'hit', hit.rcode, null);
      if (hit.prefetch && this.opts.prefetch) this.prefetch(q);
      return reply;
    }
    stats.cacheMisses++;
    // RFC 8767 section 4: while a failed refresh is recent, the stale answer goes out at once.
    const stale = cache?.stale(q.key);
    if (stale?.held) return this.serveStale(stale, q, ctx, limit, started);
    // The query's bytes are the listener's only until this call returns (a batched UDP
    // listener reuses them for the next batch): a miss keeps a copy of its own.
    return this.miss({ ...q, msg: Buffer.from(q.msg) }, ctx, limit, started, stale !== undefined);
  }

  private miss(q: Query, ctx: QueryContext, limit: number, started: number, staleAtHand: boolean): HandleResult {
    // One upstream query per key at a time: identical concurrent misses share it.
    let pending = this.inflight.get(q.key);
    const outcome: CacheOutcome = pending ? 'coalesced' : 'miss';
    if (pending) {
      this.deps.stats.coalesced++;
    } else {
      if (this.inflight.size >= this.opts.maxInflight) {
        this.deps.log.warn({ code: 'VR_ERR_OVERLOADED', inflight: this.inflight.size }, 'too many queries in flight');
        return this.fail(q, ctx, started, 'overloaded', null);
      }
      pending = this.fetch(q); // takes itself out of the table when it settles
      this.inflight.set(q.key, pending);
    }
    const timerMs = staleAtHand ? this.opts.staleClientTimeoutMs ?? 0 : 0;
    return this.whenSettled(timerMs > 0 ? this.withinClientTimer(pending, timerMs) : pending, pending, q, ctx, limit, started, outcome);
  }

  // Two callbacks on the upstream's promise, not an async frame: a miss holds what is made here
  // while it waits, and V8 keeps every register of a suspended async function (issue 13).
  private whenSettled(
    first: Promise<Resolved | null>, pending: Promise<Resolved>, q: Query, ctx: QueryContext, limit: number, started: number, outcome: CacheOutcome,
  ): Promise<Buffer | null> {
    return first.then(
      (resolved) => (resolved === null ? this.timerFired(pending, q, ctx, limit, started, outcome) : this.served(resolved, q, ctx, limit, started, outcome)),
      (e: unknown) => this.unanswered(e, q, ctx, limit, started, outcome),
    );
  }

  /**
   * RFC 8767 section 5: the client response timer fired first, so this client gets the stale
   * answer now; the refresh goes on and updates the cache (or, failing, holds the stale answer:
   * fetch()). Evicted meanwhile, nothing stale is left to give: the client waits for the refresh.
   */
  private timerFired(pending: Promise<Resolved>, q: Query, ctx: QueryContext, limit: number, started: number, outcome: CacheOutcome): Buffer | Promise<Buffer | null> {
    const stale = this.deps.cache?.stale(q.key);
    if (stale) return this.serveStale(stale, q, ctx, limit, started);
    return this.whenSettled(pending, pending, q, ctx, limit, started, outcome);
  }

  /** The upstream's answer to this client. */
  private served(resolved: Resolved, q: Query, ctx: QueryContext, limit: number, started: number, outcome: CacheOutcome): Buffer {
    try {
      const { answer, server } = resolved;
      countRcode(this.deps.stats, answer.rcode);
      this.deps.stats.missLatency.observe(this.deps.clock.now() - started);
      this.logQuery(q, ctx, started, outcome, answer.rcode, server);
      return serveAnswer(answer, q, answer.ttlSec, limit, this.opts.maxUdpSize);
    } catch (e) {
      return this.unanswered(e, q, ctx, limit, started, outcome);
    }
  }

  /** No answer from upstream: the stale one if there is one (RFC 8767), else SERVFAIL. */
  private unanswered(e: unknown, q: Query, ctx: QueryContext, limit: number, started: number, outcome: CacheOutcome): Buffer {
    const stale = this.deps.cache?.stale(q.key);
    if (stale) return this.serveStale(stale, q, ctx, limit, started);
    return this.fail(q, ctx, started, outcome, e);
  }

  /** The refresh's result, or null when the client response timer fires first (RFC 8767 5). */
  private withinClientTimer(pending: Promise<Resolved>, ms: number): Promise<Resolved | null> {
    return new Promise((resolve, reject) => {
      const cancel = this.deps.clock.after(ms, () => resolve(null));
      pending.then(
        (r) => {
          cancel();
          resolve(r);
        },
        (e: unknown) => {
          cancel();
          reject(e);
        },
      );
    });
  }

  /** An expired answer, because upstream could not refresh it in time (RFC 8767): TTL 30, EDE 3. */
  private serveStale(answer: PackedAnswer, q: Query, ctx: QueryContext, limit: number, started: number): Buffer {
    this.deps.stats.staleServed++;
    countRcode(this.deps.stats, answer.rcode);
    this.deps.stats.missLatency.observe(this.deps.clock.now() - started);
    this.logQuery(q, ctx, started, 'stale', answer.rcode, null);
    return servePacked(answer, q, 0, limit, this.opts.maxUdpSize, true);
  }

  /**
   * Refreshes a popular answer before it expires (Unbound's prefetch): in the background, once
   * per key (it joins the in-flight table, so misses for the key share it), and only while
   * prefetches hold less than PREFETCH_INFLIGHT_SHARE of MaxInflight. A failure leaves the
   * cached answer to expire as it would have: no failure is remembered over it.
   */
  private prefetch(q: Query): void {
    if (this.inflight.has(q.key) || this.prefetching >= this.opts.maxInflight * PREFETCH_INFLIGHT_SHARE) return;
    this.deps.stats.prefetches++;
    this.prefetching++;
    const key = q.key;
    // A copy: the listener reuses the query's bytes once handle() returns.
    const copy = { ...q, msg: Buffer.from(q.msg) };
    const pending = this.deps.upstream.resolve(copy).then((resolved) => {
      this.deps.cache?.storeAnswer(key, resolved.answer);
      return resolved;
    });
    this.inflight.set(key, pending);
    const done = () => {
      this.prefetching--;
      this.inflight.delete(key);
    };
    pending.then(done, (e: unknown) => {
      done();
      const qname = nameToText(copy.msg.subarray(12, copy.qnameEnd));
      this.deps.log.debug({ qname, err: (e as Error).message }, 'prefetch failed; the cached answer expires as it would');
    });
  }

  /**
   * Asks upstream and stores what comes back: the answer, or the failure (RFC 9520). Leaves the
   * in-flight table before its promise settles: the cache has the outcome by then. Not async:
   * a waiting miss holds what this makes, and two callbacks are about half of an async frame
   * (issue 13).
   */
  private fetch(q: Query): Promise<Resolved> {
    return this.deps.upstream.resolve(q).then(
      (resolved) => this.fetched(q, resolved),
      (e: unknown) => this.fetchFailed(q, e),
    );
  }

  private fetched(q: Query, resolved: Resolved): Resolved {
    this.inflight.delete(q.key);
    this.deps.cache?.storeAnswer(q.key, resolved.answer);
    return resolved;
  }

  private fetchFailed(q: Query, e: unknown): never {
    this.inflight.delete(q.key);
    // With a stale answer at hand it is held for serving (RFC 8767) rather than replaced by the
    // remembered failure (RFC 9520); either way upstream is spared for failureTtlSec.
    const cache = this.deps.cache;
    if (cache && !cache.holdStale(q.key, this.opts.failureTtlSec)) cache.storeFailure(q.key, this.opts.failureTtlSec);
    throw e;
  }

  private fail(q: Query, ctx: QueryContext, started: number, outcome: CacheOutcome, err: unknown): Buffer {
    this.deps.stats.servfail++;
    countRcode(this.deps.stats, RCODE.SERVFAIL);
    (outcome === 'failure-cached' ? this.deps.stats.hitLatency : this.deps.stats.missLatency).observe(this.deps.clock.now() - started);
    const code = err instanceof ResolverError ? err.code : undefined;
    this.logQuery(q, ctx, started, outcome, RCODE.SERVFAIL, null, code);
    return errorForQuery(q, RCODE.SERVFAIL, this.opts.maxUdpSize);
  }

  /**
   * A client outside AllowFrom= (app.ts decided): REFUSED with the question echoed when it can
   * be read (RFC 1035 4.1.1), or nothing (DenyAction=drop, and messages we would drop anyway).
   * Counted apart, and never looked up: the cache does not answer strangers either.
   */
  deny(msg: Buffer, ctx: QueryContext, action: 'refuse' | 'drop'): Buffer | null {
    const stats = this.deps.stats;
    this.arrived(ctx);
    stats.denied++;
    if (action === 'drop') return null;
    const verdict = parseQuery(msg);
    if (verdict.kind === 'drop') return null;
    this.deps.log.debug({ client: ctx.client }, 'query refused: client not in AllowFrom=');
    countRcode(stats, RCODE.REFUSED);
    if (verdict.kind === 'error') return errorReply(msg, RCODE.REFUSED, verdict.questionEnd, verdict.edns, this.opts.maxUdpSize);
    return errorForQuery(verdict.query, RCODE.REFUSED, this.opts.maxUdpSize);
  }

  /** Every query that reaches us, denied ones included, by transport. */
  private arrived(ctx: QueryContext): void {
    const stats = this.deps.stats;
    stats.queries++;
    if (ctx.transport === 'udp') stats.udpQueries++;
    else stats.tcpQueries++;
  }

  private countError(rcode: number): void {
    const s = this.deps.stats;
    countRcode(s, rcode);
    if (rcode === RCODE.FORMERR || rcode === RCODE.BADVERS) s.formerr++;
    else if (rcode === RCODE.NOTIMP) s.notimp++;
    else if (rcode === RCODE.REFUSED) s.refused++;
  }

  /** One line per query at debug (ARCHITECTURE.md, a query's way through, step 7), built only then. */
  private logQuery(
    q: Query,
    ctx: QueryContext,
    started: number,
    cache: CacheOutcome,
    rcode: number,
    upstream: string | null,
    code?: string,
  ): void {
    const log = this.deps.log;
    if (!log.isLevelEnabled('debug')) return;
    log.debug(
      {
        client: ctx.client,
        transport: ctx.transport,
        qname: nameToText(q.msg.subarray(12, q.qnameEnd)),
        qtype: typeName(q.qtype),
        rcode: rcodeName(rcode),
        cache,
        upstream,
        ms: Math.round((this.deps.clock.now() - started) * 100) / 100,
        ...(code ? { code } : {}),
      },
      'query',
    );
  }
}
