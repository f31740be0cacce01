// Promises over the pipeline's callback contracts, for tests that drive it in-process: a query's
// reply (given at once, or later through ctx.respond), a pool's outcome, and scripted upstream
// exchanges written as async functions. Each checks the contract it wraps: a late reply comes
// once and never while handle() or resolve() is still running.
import { LATER, type QueryContext, type Resolver, type Upstream } from '../../src/resolver.js';
import type { Query } from '../../src/dns/query.js';
import type { Answer } from '../../src/dns/answer.js';
import type { UdpExchange } from '../../src/upstream/udp.js';
import type { UpstreamServer } from '../../src/upstream/server.js';

/** handle()'s reply: the one it returns, or the one it gives ctx.respond after returning LATER. */
export function handled(
  resolver: Pick<Resolver, 'handle'>, msg: Buffer, transport: 'udp' | 'tcp' = 'udp', address = '127.0.0.1',
): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let returned = false;
    let responded = false;
    const ctx: QueryContext = {
      transport,
      client: `${address}:5000`,
      address,
      respond(reply) {
        if (!returned) reject(new Error('ctx.respond() called before handle() returned'));
        else if (responded) throw new Error('ctx.respond() called twice');
        responded = true;
        resolve(reply);
      },
    };
    const r = resolver.handle(msg, ctx);
    returned = true;
    if (r !== LATER) resolve(r);
  });
}

/** A pool's (or router's) outcome for one question: the answer, and the server that gave it. */
export function resolved(upstream: Upstream, q: Query): Promise<{ answer: Answer; server: string }> {
  return new Promise((resolve, reject) => {
    let returned = false;
    upstream.resolve(q, {
      resolved: (answer, server) => (returned ? resolve({ answer, server }) : reject(new Error('resolved during resolve()'))),
      failed: (e) => reject(returned ? e : new Error('failed during resolve()')),
    });
    returned = true;
  });
}

/** A UDP exchange from an async script of (server, query, timeoutMs): its reply, or what it throws. */
export function scriptedUdp(script: (server: UpstreamServer, query: Buffer, timeoutMs: number) => Promise<Buffer>): UdpExchange {
  return (server, query, _questionEnd, timeoutMs, sink) => {
    script(server, query, timeoutMs).then(
      (reply) => sink.replied(reply),
      (e: unknown) => sink.failed(e as Error),
    );
  };
}
