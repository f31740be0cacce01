// The native factory's upstream UDP exchanges: one exchanger of the helper per factory (its
// device), made on first use (native/src/udp_exchange.cc), and which handler each open
// exchange's datagrams go to. The helper makes the socket and sends the query in one call,
// reads replies for all exchanges in batches, and says whether each came from the address the
// query went to; judging the reply (ID, question) is the caller's (upstream/udp.ts).

import { udpExchanger, type UdpExchangerHandle } from '../native/binding.js';
import { copyBytes } from '../dns/copy.js';
import type { ExchangeSink, Family, UdpExchangeSocket } from './socket-factory.js';

/**
 * The helper's memory and methods, read once: a property read on the helper's object is slower
 * than on ours, and its methods need no `this` (udp_exchange.cc).
 */
interface Helper {
  /** Held for as long as we are: collecting it closes every exchange (its finalizer). */
  readonly handle: UdpExchangerHandle;
  readonly data: Buffer;
  readonly lengths: Int32Array;
  readonly fds: Int32Array;
  readonly fromPeer: Uint8Array;
  readonly slotBytes: number;
  readonly query: Buffer;
  readonly peer: UdpExchangerHandle['peer'];
  readonly open: UdpExchangerHandle['open'];
  readonly finish: UdpExchangerHandle['finish'];
}

/** A server the helper knows, by the id its peer() gave. */
interface KnownPeer {
  readonly family: Family;
  readonly address: string;
  readonly port: number;
  readonly id: number;
}

export class NativeUdpExchanges {
  private helper: Helper | null = null;
  /**
   * The servers asked so far, a handful: scanned, and the address compared as the same string
   * (each server's own, upstream/server.ts) in the usual case.
   */
  private readonly peers: KnownPeer[] = [];
  /**
   * Open exchanges by fd, an fd's entry set exactly while the helper holds it open. An array,
   * not a Map: fds are small numbers, and a Map whose hundred entries come and go at every
   * miss rebuilds its table again and again (it shrinks when emptied and grows when filled),
   * tables that outlive young collections and were a fifth of what a miss had promoted to
   * V8's old generation (issue 13).
   */
  private readonly sinks: Array<ExchangeSink | null> = [];

  constructor(private readonly device: string | null) {}

  open(family: Family, address: string, port: number, query: Buffer, sink: ExchangeSink): UdpExchangeSocket {
    const h = this.helper ?? this.start();
    const peer = this.peerId(h, family, address, port);
    // Copied into the helper's memory: handing it the Buffer costs more (Node-API checks the
    // argument's type and looks up its ArrayBuffer) than a loop over a query's few dozen bytes.
    if (query.length > h.query.length) throw new RangeError(`query of ${query.length} bytes does not fit a UDP datagram`);
    copyBytes(query, 0, query.length, h.query, 0);
    const fd = h.open(peer, query.length);
    while (this.sinks.length <= fd) this.sinks.push(null); // no holes: the array stays packed
    this.sinks[fd] = sink;
    return new ExchangeSocket(this, fd);
  }

  /** Ends an exchange: no more datagrams for `fd`, and the helper closes it. */
  finish(fd: number): void {
    this.sinks[fd] = null;
    this.helper!.finish(fd);
  }

  private peerId(h: Helper, family: Family, address: string, port: number): number {
    for (const p of this.peers) {
      if (p.port === port && p.address === address && p.family === family) return p.id;
    }
    const id = h.peer(family, address, port);
    this.peers.push({ family, address, port, id });
    return id;
  }

  private start(): Helper {
    const x = udpExchanger(this.device, (count) => this.deliver(count));
    const h: Helper = {
      handle: x, data: x.data, lengths: x.lengths, fds: x.fds, fromPeer: x.fromPeer, slotBytes: x.slotBytes, query: x.query,
      peer: x.peer, open: x.open, finish: x.finish,
    };
    this.helper = h;
    return h;
  }

  private deliver(count: number): void {
    const { data, lengths, fds, fromPeer, slotBytes } = this.helper!;
    for (let i = 0; i < count; i++) {
      // Always there (the helper reads only open sockets, and nothing runs between its reads
      // and this call); checked all the same.
      const sink = this.sinks[fds[i]!];
      if (sink === undefined || sink === null) continue;
      const start = i * slotBytes;
      sink.datagram(data.subarray(start, start + lengths[i]!), fromPeer[i] === 1);
    }
  }
}

class ExchangeSocket implements UdpExchangeSocket {
  private open = true;
  constructor(
    private readonly owner: NativeUdpExchanges,
    private readonly fd: number,
  ) {}

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.owner.finish(this.fd);
  }
}
