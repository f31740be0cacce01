// The native factory's upstream UDP exchanges: one exchanger of the helper per factory (its
// device), made on first use (native/src/udp_exchange.cc), and which handler each open
// exchange's datagrams go to. The helper makes the socket and sends the query in one call,
// reads replies for all exchanges in batches, and says whether each came from the address the
// query went to; judging the reply (ID, question) is the caller's (upstream/udp.ts).

import { udpExchanger, type UdpExchangerHandle } from '../native/binding.js';
import type { ExchangeSink, Family, UdpExchangeSocket } from './socket-factory.js';

/** The helper's batch memory, read once: a property read on the helper's object is slower than on ours. */
interface Slots {
  readonly data: Buffer;
  readonly lengths: Int32Array;
  readonly fds: Int32Array;
  readonly fromPeer: Uint8Array;
  readonly slotBytes: number;
}

export class NativeUdpExchanges {
  private handle: UdpExchangerHandle | null = null;
  private slots: Slots | null = null;
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
    const h = this.handle ?? this.start();
    const fd = h.open(family, address, port, query);
    while (this.sinks.length <= fd) this.sinks.push(null); // no holes: the array stays packed
    this.sinks[fd] = sink;
    return new ExchangeSocket(this, fd);
  }

  /** Ends an exchange: no more datagrams for `fd`, and the helper closes it. */
  finish(fd: number): void {
    this.sinks[fd] = null;
    this.handle!.finish(fd);
  }

  private start(): UdpExchangerHandle {
    const h = udpExchanger(this.device, (count) => this.deliver(count));
    this.slots = { data: h.data, lengths: h.lengths, fds: h.fds, fromPeer: h.fromPeer, slotBytes: h.slotBytes };
    this.handle = h;
    return h;
  }

  private deliver(count: number): void {
    const { data, lengths, fds, fromPeer, slotBytes } = this.slots!;
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
