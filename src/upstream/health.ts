// Upstream health: a server that keeps failing is tried after the others until it recovers.
// After FAILURES_BEFORE_BACKOFF consecutive failures it backs off for 1 s, doubling per further
// failure up to MAX_BACKOFF_MS; any success clears it. Among the others, ServerSelection=:
//   ordered  the configured order (resolved's and dnsmasq's default: the first server is
//            preferred), the default: operators list their primary first, and each name
//            then goes to the same server, whose cache is warm for it.
//   rtt      the lowest smoothed round-trip time first (Unbound's infra cache, RFC 6298 SRTT);
//            a server not yet measured goes first, so each is measured on its first question,
//            and a timeout counts as the time waited, so a slow or dead server sinks. Every
//            PROBE_EVERY-th question goes first to another ready server in turn, so a server
//            that got faster is noticed.

import type { Clock } from '../clock.js';
import type { UpstreamServer } from './server.js';

const FAILURES_BEFORE_BACKOFF = 3;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

export type ServerSelection = 'ordered' | 'rtt';

/** With rtt: one question in this many probes another ready server first. */
export const PROBE_EVERY = 20;

/** One server's health and counters, as the control plane shows them (times on the passed-in clock). */
export interface ServerState {
  readonly label: string;
  readonly consecutiveFailures: number;
  readonly backoffUntilMs: number;
  readonly queries: number;
  readonly failures: number;
  /** Failures by stable error code (VR_ERR_UPSTREAM_TIMEOUT...). */
  readonly failuresByCode: Readonly<Record<string, number>>;
  readonly tcpFallbacks: number;
  /** Smoothed round-trip time of answered attempts, ms (RFC 6298's SRTT, gain 1/8); null before one. */
  readonly srttMs: number | null;
  readonly lastError: { readonly code: string; readonly atMs: number } | null;
}

type MutableState = { -readonly [K in keyof ServerState]: ServerState[K] } & { failuresByCode: Record<string, number> };

/** RFC 6298 section 2: SRTT <- (1 - 1/8) * SRTT + 1/8 * R'. */
const SRTT_GAIN = 1 / 8;

function freshState(label: string): MutableState {
  return { label, consecutiveFailures: 0, backoffUntilMs: 0, queries: 0, failures: 0, failuresByCode: {}, tcpFallbacks: 0, srttMs: null, lastError: null };
}

export class UpstreamHealth {
  private readonly states: Map<UpstreamServer, MutableState>;

  constructor(
    private readonly servers: readonly UpstreamServer[],
    private readonly clock: Clock,
  ) {
    this.states = new Map(servers.map((s) => [s, freshState(s.label)]));
  }

  /** The servers this health follows, in the configured order. */
  get all(): readonly UpstreamServer[] {
    return this.servers;
  }

  private orders = 0;
  private probe = 0;

  /**
   * Servers to try, in order: those not backing off first (by `selection`), then the rest.
   * `among`: only these (a Forward= route's servers; all of them are in this health).
   */
  order(selection: ServerSelection = 'ordered', among: readonly UpstreamServer[] = this.servers): readonly UpstreamServer[] {
    if (among.length === 1) return among; // the usual single forwarder: nothing to order
    const now = this.clock.now();
    const ready: UpstreamServer[] = [];
    const waiting: UpstreamServer[] = [];
    for (const s of among) (this.states.get(s)!.backoffUntilMs <= now ? ready : waiting).push(s);
    waiting.sort((a, b) => this.states.get(a)!.backoffUntilMs - this.states.get(b)!.backoffUntilMs);
    if (selection === 'rtt' && ready.length > 1) {
      const rtt = (s: UpstreamServer) => this.states.get(s)!.srttMs ?? -1; // unmeasured: first
      ready.sort((a, b) => rtt(a) - rtt(b)); // stable: equal RTTs keep the configured order
      if (++this.orders % PROBE_EVERY === 0) {
        const [probed] = ready.splice(1 + (this.probe++ % (ready.length - 1)), 1);
        ready.unshift(probed!);
      }
    }
    return ready.concat(waiting);
  }

  /** An attempt to ask `server` begins. */
  attempt(server: UpstreamServer): void {
    this.states.get(server)!.queries++;
  }

  /** `server` answered usably after rttMs. */
  success(server: UpstreamServer, rttMs: number): void {
    const st = this.states.get(server)!;
    st.consecutiveFailures = 0;
    st.backoffUntilMs = 0;
    st.srttMs = st.srttMs === null ? rttMs : st.srttMs + SRTT_GAIN * (rttMs - st.srttMs);
  }

  /** `server` replied TC=1 over UDP and is asked again over TCP. */
  tcpFallback(server: UpstreamServer): void {
    this.states.get(server)!.tcpFallbacks++;
  }

  /** `server` failed with `code`; a timeout after waitedMs also counts as that round trip. */
  failure(server: UpstreamServer, code: string, waitedMs?: number): void {
    const st = this.states.get(server)!;
    if (code === 'VR_ERR_UPSTREAM_TIMEOUT' && waitedMs !== undefined) {
      st.srttMs = st.srttMs === null ? waitedMs : st.srttMs + SRTT_GAIN * (waitedMs - st.srttMs);
    }
    st.failures++;
    st.failuresByCode[code] = (st.failuresByCode[code] ?? 0) + 1;
    st.lastError = { code, atMs: this.clock.now() };
    st.consecutiveFailures++;
    const over = st.consecutiveFailures - FAILURES_BEFORE_BACKOFF;
    if (over >= 0) st.backoffUntilMs = this.clock.now() + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(over, 16));
  }

  /** Copies, in the configured order: for `vrf-resolver status` and the metrics. */
  snapshot(): ServerState[] {
    return this.servers.map((s) => {
      const st = this.states.get(s)!;
      return { ...st, failuresByCode: { ...st.failuresByCode }, lastError: st.lastError && { ...st.lastError } };
    });
  }

  /** `statistics --reset`: the counters go back to zero; health (backoff, SRTT) stays. */
  resetCounters(): void {
    for (const st of this.states.values()) {
      st.queries = 0;
      st.failures = 0;
      st.failuresByCode = {};
      st.tcpFallbacks = 0;
    }
  }
}
