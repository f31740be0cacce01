// UDP listener in batches: the native helper reads up to 64 datagrams with one recvmmsg, this
// file answers each (a cache hit synchronously, as the pipeline does), and the helper sends
// the batch's replies with one sendmmsg (native/src/udp_batch.cc). Node's dgram costs one JS
// call and one send system call per datagram, which is most of a cache hit's CPU (issue 13).
// No DNS logic here, as in udp.ts; whatever a datagram contains, nothing escapes.
//
// The batch's slots are rewritten by the next batch. A synchronous reply is sent before that;
// a reply that comes later (a miss) is sent with a copy of its sender's address, taken when
// the handler returns LATER, and the pipeline copies the query it keeps (resolver.ts).

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { udpServe, type UdpBatchHandle } from '../native/binding.js';
import { sockaddrAddress, sockaddrPort } from '../net/sockaddr.js';
import { copyBytes } from '../dns/copy.js';
import { LATER, type QueryContext } from '../resolver.js';
import type { Listener, QueryHandler } from './udp.js';

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (errno: number) => ERRNO_NAMES.get(errno) ?? `errno ${String(errno)}`;

/** Replies that come later (misses), sent together at the end of this turn of the loop. */
class LateReplies {
  handle: UdpBatchHandle | null = null;
  // The upstream replies read in one batch settle their clients' queries together, and those
  // replies then leave in one sendmmsg. The check phase follows the poll phase, so none waits
  // for I/O.
  private replies: Buffer[] = [];
  private addrs: Buffer[] = [];

  constructor(
    private readonly label: string,
    private readonly log: Logger,
  ) {}

  push(reply: Buffer | null, addr: Buffer): void {
    if (reply === null || this.handle === null) return;
    if (this.replies.push(reply) === 1) setImmediate(this.flush);
    this.addrs.push(addr);
  }

  private readonly flush = (): void => {
    const out = this.replies;
    const to = this.addrs;
    this.replies = [];
    this.addrs = [];
    if (this.handle === null) return;
    const errno = this.handle.sendLater(out, to);
    if (errno !== 0) this.log.warn({ err: errnoName(errno), listener: this.label }, 'UDP listener error: a reply could not be sent');
  };
}

/** The sender of slot `i`, read from the slot while the batch runs, or from a copy after it. */
class BatchContext implements QueryContext {
  readonly transport = 'udp' as const;
  private text: string | null = null;
  private detached = false;
  constructor(
    private readonly late: LateReplies,
    private addrs: Buffer,
    private off: number,
    private readonly addrBytes: number,
  ) {}
  get address(): string {
    return (this.text ??= sockaddrAddress(this.addrs, this.off));
  }
  get client(): string {
    return `${this.address}:${sockaddrPort(this.addrs, this.off)}`;
  }
  respond(reply: Buffer | null): void {
    this.late.push(reply, this.detach());
  }
  /** Moves the sender into memory of its own (the slot is reused by the next batch); returns it. */
  detach(): Buffer {
    if (!this.detached) {
      const copy = Buffer.allocUnsafe(this.addrBytes);
      copyBytes(this.addrs, this.off, this.off + this.addrBytes, copy, 0);
      this.addrs = copy;
      this.off = 0;
      this.detached = true;
    }
    return this.addrs;
  }
}

/** Serves a bound UDP socket's fd in batches; the fd is the helper's from here on (closed on failure too). */
export function serveUdpBatch(fd: number, label: string, handler: QueryHandler, log: Logger): Listener {
  // The batch's replies: the helper reads [0, count). Never shortened (V8 would drop and then
  // allocate its memory again for the next batch); what an earlier, longer batch left above
  // count is cleared instead, so it keeps no reply alive.
  const replies: Array<Buffer | null> = [];
  let filled = 0;
  const late = new LateReplies(label, log);
  const handle = udpServe(fd, (count, sendErrno) => {
    if (sendErrno !== 0) log.warn({ err: errnoName(sendErrno), listener: label }, 'UDP listener error: a reply could not be sent');
    const { data, lengths, addrs, slotBytes, addrBytes } = handle;
    for (let i = count; i < filled; i++) replies[i] = null;
    filled = count;
    for (let i = 0; i < count; i++) {
      replies[i] = null;
      const start = i * slotBytes;
      const ctx = new BatchContext(late, addrs, i * addrBytes, addrBytes);
      try {
        const result = handler(data.subarray(start, start + lengths[i]!), ctx);
        // Later: the sender is copied now, while the slot still holds it.
        if (result === LATER) ctx.detach();
        else replies[i] = result;
      } catch (err) {
        log.error({ err, listener: label }, 'handler failed');
      }
    }
    return replies;
  });
  late.handle = handle;
  return {
    label,
    // The helper closes the fd in libuv's close phase of this loop turn; a timer fires in a
    // later turn, so the port is free when the promise resolves (a reload may bind it again).
    close: () => {
      handle.close();
      late.handle = null;
      return new Promise<void>((resolve) => setTimeout(resolve, 0));
    },
  };
}
