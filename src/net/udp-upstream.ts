// The native factory's upstream UDP exchanges: one exchanger of the helper per factory (its
// device), made on first use (native/src/udp_exchange.cc), and which handler each open
// exchange's datagrams go to. The helper makes the socket and sends the query in one call,
// reads replies for all exchanges in batches, and says whether each came from the address the
// query went to; judging the reply (ID, question) is the caller's (upstream/udp.ts).

import { udpExchanger, type UdpExchangerHandle } from '../native/binding.js';
import type { Family, OnDatagram, UdpExchangeSocket } from './socket-factory.js';

export class NativeUdpExchanges {
  private handle: UdpExchangerHandle | null = null;
  /** Open exchanges by fd; an fd is in here exactly while the helper holds it open. */
  private readonly sinks = new Map<number, OnDatagram>();

  constructor(private readonly device: string | null) {}

  open(family: Family, address: string, port: number, query: Buffer, onDatagram: OnDatagram): UdpExchangeSocket {
    const h = (this.handle ??= udpExchanger(this.device, (count) => this.deliver(count)));
    const fd = h.open(family, address, port, query);
    this.sinks.set(fd, onDatagram);
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        this.sinks.delete(fd);
        h.finish(fd);
      },
    };
  }

  private deliver(count: number): void {
    const { data, lengths, fds, fromPeer, slotBytes } = this.handle!;
    for (let i = 0; i < count; i++) {
      // Always there (the helper reads only open sockets, and nothing runs between its reads
      // and this call); checked all the same.
      const sink = this.sinks.get(fds[i]!);
      if (sink === undefined) continue;
      const start = i * slotBytes;
      sink(data.subarray(start, start + lengths[i]!), fromPeer[i] === 1);
    }
  }
}
