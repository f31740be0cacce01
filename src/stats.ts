// Counters of one instance. Plain numbers, bumped on the hot path, read by logs (and later by
// the status/metrics endpoints). Names are stable: operators graph them.

export interface Stats {
  queries: number;
  cacheHits: number;
  cacheMisses: number;
  /** Misses that joined an upstream query already in flight for the same key. */
  coalesced: number;
  /** Queries not answered: unreadable, oversize, or QR=1 (see WireFault). */
  dropped: number;
  formerr: number;
  notimp: number;
  refused: number;
  servfail: number;
  /** Upstream datagrams from an address or port we did not send to (RFC 5452). */
  spoofedReplies: number;
  /** Upstream datagrams from the right server with a wrong ID or question (RFC 5452). */
  mismatchedReplies: number;
  upstreamQueries: number;
  upstreamFailures: number;
  tcpFallbacks: number;
  /** Expired answers served because their refresh failed (RFC 8767). */
  staleServed: number;
}

export function newStats(): Stats {
  return {
    queries: 0,
    cacheHits: 0,
    cacheMisses: 0,
    coalesced: 0,
    dropped: 0,
    formerr: 0,
    notimp: 0,
    refused: 0,
    servfail: 0,
    spoofedReplies: 0,
    mismatchedReplies: 0,
    upstreamQueries: 0,
    upstreamFailures: 0,
    tcpFallbacks: 0,
    staleServed: 0,
  };
}
