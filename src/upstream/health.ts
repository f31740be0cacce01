// Upstream health: a server that keeps failing is tried after the others until it recovers.
// After FAILURES_BEFORE_BACKOFF consecutive failures it backs off for 1 s, doubling per further
// failure up to MAX_BACKOFF_MS; any success clears it. Servers stay in the configured order
// otherwise (resolved's and dnsmasq's default: the first server is preferred).

import type { Clock } from '../clock.js';
import type { UpstreamServer } from './server.js';

const FAILURES_BEFORE_BACKOFF = 3;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

export interface ServerState {
  readonly label: string;
  readonly consecutiveFailures: number;
  readonly backoffUntilMs: number;
}

interface MutableState {
  label: string;
  consecutiveFailures: number;
  backoffUntilMs: number;
}

export class UpstreamHealth {
  private readonly states: Map<UpstreamServer, MutableState>;

  constructor(
    private readonly servers: readonly UpstreamServer[],
    private readonly clock: Clock,
  ) {
    this.states = new Map(servers.map((s) => [s, { label: s.label, consecutiveFailures: 0, backoffUntilMs: 0 }]));
  }

  /** Servers to try, in order: those not backing off first (configured order), then the rest. */
  order(): UpstreamServer[] {
    const now = this.clock.now();
    const ready: UpstreamServer[] = [];
    const waiting: UpstreamServer[] = [];
    for (const s of this.servers) (this.states.get(s)!.backoffUntilMs <= now ? ready : waiting).push(s);
    waiting.sort((a, b) => this.states.get(a)!.backoffUntilMs - this.states.get(b)!.backoffUntilMs);
    return ready.concat(waiting);
  }

  success(server: UpstreamServer): void {
    const st = this.states.get(server)!;
    st.consecutiveFailures = 0;
    st.backoffUntilMs = 0;
  }

  failure(server: UpstreamServer): void {
    const st = this.states.get(server)!;
    st.consecutiveFailures++;
    const over = st.consecutiveFailures - FAILURES_BEFORE_BACKOFF;
    if (over >= 0) st.backoffUntilMs = this.clock.now() + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(over, 16));
  }

  snapshot(): ServerState[] {
    return this.servers.map((s) => ({ ...this.states.get(s)! }));
  }
}
