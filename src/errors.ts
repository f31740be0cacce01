// Errors are classes with stable codes (in the spirit of undici's UND_ERR_* and fastify's
// FST_ERR_*). Every code here is documented in README.md ("Error codes"); a unit test keeps
// the two in step. Socket errors from the native helper keep Node's SystemError shape
// (code = errno name such as ENODEV) so callers handle them like any Node socket error.

export const ERROR_CODES = {
  VR_ERR_CONFIG: 'the configuration (file or flags) is invalid; every problem is listed',
  VR_ERR_NATIVE_MISSING: 'the native socket helper (build/native/vrf_socket.node) is not built',
  VR_ERR_LISTEN: 'a listener could not be opened on its address, port and device',
  VR_ERR_UPSTREAM_TIMEOUT: 'an upstream server did not answer within UpstreamTimeoutMs',
  VR_ERR_UPSTREAM_SERVFAIL: 'an upstream server answered SERVFAIL',
  VR_ERR_UPSTREAM_REFUSED: 'an upstream server answered REFUSED (or NOTIMP/FORMERR to our query)',
  VR_ERR_UPSTREAM_BAD_REPLY: 'an upstream reply was malformed or did not match our query',
  VR_ERR_UPSTREAM_NETWORK: 'sending to an upstream server failed (unreachable, no route, reset)',
  VR_ERR_UPSTREAM_TCP: 'the TCP exchange with an upstream server failed or was cut short',
  VR_ERR_UPSTREAM_CASE: 'an upstream server replied without keeping the random letter case of the query (RandomizeCase=)',
  VR_ERR_UPSTREAM_TLS: 'the TLS connection to an upstream server failed: handshake, certificate, name or pin (DNSOverTLS=)',
  VR_ERR_ALL_UPSTREAMS_FAILED: 'no upstream server gave a usable answer within QueryTimeoutMs',
  VR_ERR_OVERLOADED: 'too many queries in flight to upstream servers (MaxInflight)',
  VR_ERR_CONTROL_SOCKET: 'the control socket could not be opened (ControlSocket=); the instance serves DNS without it',
  VR_ERR_CONTROL_UNAVAILABLE: 'a command found no running instance at the control socket, or it did not answer',
  VR_ERR_CONTROL_REQUEST: 'a control request was malformed, unknown or refused by the instance',
  VR_ERR_METRICS: 'the metrics listener (Metrics=) could not be opened; the instance serves DNS without it',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ResolverError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in a configuration: where (file:line key, or --flag) and what is wrong. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends ResolverError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      'VR_ERR_CONFIG',
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
    );
    this.problems = Object.freeze([...problems]);
  }
}

export class NativeMissingError extends ResolverError {
  constructor(path: string, cause?: unknown) {
    super(
      'VR_ERR_NATIVE_MISSING',
      `the native socket helper is not built (${path} could not be loaded). ` +
        `Run "npm ci" (or "npm run build:native") in the vrf-resolver checkout; ` +
        `it needs cmake and a C++ compiler (apt-get install cmake g++).`,
      { cause },
    );
  }
}

export class ListenError extends ResolverError {
  constructor(what: string, cause: unknown) {
    const hint = (cause as { hint?: string } | null)?.hint;
    const msg = cause instanceof Error ? cause.message : String(cause);
    super('VR_ERR_LISTEN', `cannot listen on ${what}: ${msg}${hint && !msg.includes(hint) ? ` (${hint})` : ''}`, { cause });
  }
}

/** An upstream exchange failed; the pool moves to the next server. */
export class UpstreamError extends ResolverError {
  readonly server: string;
  constructor(code: ErrorCode, server: string, message: string, options?: { cause?: unknown }) {
    super(code, `${server}: ${message}`, options);
    this.server = server;
  }
}

/** The control plane (control/): the socket, a request, a reply. */
export class ControlError extends ResolverError {}

/** Advice for the socket errors a metrics listener meets, when the cause carries no hint. */
const METRICS_ADVICE: Readonly<Record<string, string>> = {
  EADDRNOTAVAIL: 'the address must exist on the VRF device (ip addr add ADDR dev VRF), or use one that does, such as 127.0.0.1',
  EADDRINUSE: 'another process listens on that port on the same device (ss -ltnp); pick another port',
  EACCES: 'ports below 1024 need CAP_NET_BIND_SERVICE; 9153 needs none',
  ENODEV: 'the VRF device does not exist: create it or fix VRF=',
};

/** The metrics listener (Metrics=) could not be opened; the instance serves DNS without it. */
export class MetricsError extends ResolverError {
  constructor(where: string, cause: unknown) {
    const c = cause as { code?: unknown; hint?: unknown } | null;
    const msg = cause instanceof Error ? cause.message : String(cause);
    const advice = typeof c?.hint === 'string' ? c.hint : typeof c?.code === 'string' ? METRICS_ADVICE[c.code] : undefined;
    super(
      'VR_ERR_METRICS',
      `cannot serve metrics at ${where}: ${msg}${advice && !msg.includes(advice) ? ` (${advice})` : ''}. ` +
        'Fix Metrics= (or leave it empty to turn metrics off)',
      { cause },
    );
  }
}
