// UDP listener in batches: the native helper reads up to 64 datagrams with one recvmmsg, this
// file answers each (a cache hit synchronously, as the pipeline does), and the helper sends
// the batch's replies with one sendmmsg (native/src/udp_batch.cc). Node's dgram costs one JS
// call and one send system call per datagram, which is most of a cache hit's CPU (issue 13).
// No DNS logic here, as in udp.ts; whatever a datagram contains, nothing escapes.
//
// The batch's slots are rewritten by the next batch. A synchronous reply is sent before that;
// a reply that comes later (a miss) is sent with a copy of its sender's address, taken when
// the handler returns its promise, and the pipeline copies the query it keeps (resolver.ts).

import { constants } from 'node:os';
import type { Logger } from 'pino';
import { udpServe, type UdpBatchHandle } from '../native/binding.js';
import { sockaddrAddress, sockaddrPort } from '../net/sockaddr.js';
import type { QueryContext } from '../resolver.js';
import type { Listener, QueryHandler } from './udp.js';

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (errno: number) => ERRNO_NAMES.get(errno) ?? `errno ${String(errno)}`;

/** The sender of slot `i`, read from the slot while the batch runs, or from a copy after it. */
class BatchContext implements QueryContext {
  readonly transport = 'udp' as const;
  private text: string | null = null;
  constructor(
    private addrs: Buffer,
    private off: number,
  ) {}
  get address(): string {
    return (this.text ??= sockaddrAddress(this.addrs, this.off));
  }
  get client(): string {
    return `${this.address}:${sockaddrPort(this.addrs, this.off)}`;
  }
  /** Moves the sender into memory of its own (the slot is reused); returns that copy. */
  detach(addrBytes: number): Buffer {
    const copy = Buffer.from(this.addrs.subarray(this.off, this.off + addrBytes));
    this.addrs = copy;
    this.off = 0;
    return copy;
  }
}

/** Serves a bound UDP socket's fd in batches; the fd is the helper's from here on (closed on failure too). */
export function serveUdpBatch(fd: number, label: string, handler: QueryHandler, log: Logger): Listener {
  const replies: Array<Buffer | null> = [];
  let handle: UdpBatchHandle | null = null;
  // Replies that come later (misses) wait for the end of this turn of the loop: the upstream
  // replies read in one batch settle their clients' queries together, and those replies then
  // leave in one sendmmsg. The check phase follows the poll phase, so none waits for I/O.
  let late: Buffer[] = [];
  let lateAddrs: Buffer[] = [];
  const flushLate = () => {
    const out = late;
    const to = lateAddrs;
    late = [];
    lateAddrs = [];
    if (handle === null) return;
    const errno = handle.sendLater(out, to);
    if (errno !== 0) log.warn({ err: errnoName(errno), listener: label }, 'UDP listener error: a reply could not be sent');
  };
  const sendLater = (reply: Buffer | null, addr: Buffer) => {
    if (reply === null || handle === null) return;
    if (late.push(reply) === 1) setImmediate(flushLate);
    lateAddrs.push(addr);
  };
  const handlerFailed = (err: unknown) => log.error({ err, listener: label }, 'handler failed');
  handle = udpServe(fd, (count, sendErrno) => {
    if (sendErrno !== 0) log.warn({ err: errnoName(sendErrno), listener: label }, 'UDP listener error: a reply could not be sent');
    const h = handle!;
    const { data, lengths, addrs, slotBytes, addrBytes } = h;
    replies.length = count;
    for (let i = 0; i < count; i++) {
      replies[i] = null;
      const start = i * slotBytes;
      const ctx = new BatchContext(addrs, i * addrBytes);
      try {
        const result = handler(data.subarray(start, start + lengths[i]!), ctx);
        if (result instanceof Promise) {
          const addr = ctx.detach(addrBytes);
          result.then((reply) => sendLater(reply, addr), handlerFailed);
        } else {
          replies[i] = result;
        }
      } catch (err) {
        handlerFailed(err);
      }
    }
    return replies;
  });
  const h = handle;
  return {
    label,
    // The helper closes the fd in libuv's close phase of this loop turn; a timer fires in a
    // later turn, so the port is free when the promise resolves (a reload may bind it again).
    close: () => {
      h.close();
      handle = null;
      return new Promise<void>((resolve) => setTimeout(resolve, 0));
    },
  };
}
