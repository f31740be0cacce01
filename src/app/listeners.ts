// The listeners of one instance, grouped by endpoint (UDP and TCP on one address and port),
// so a reload can open, keep and close them per endpoint. Sockets come from the socket factory
// (bound to the VRF device), or from systemd (socket activation, see systemd/listen-fds.ts).

import type net from 'node:net';
import type { Logger } from 'pino';
import { ListenError } from '../errors.js';
import type { Endpoint } from '../config/types.js';
import { sameEndpoint } from '../config/endpoint.js';
import type { SocketFactory } from '../net/socket-factory.js';
import { serveUdp, type Listener, type QueryHandler } from '../server/udp.js';
import { serveUdpBatch } from '../server/udp-batch.js';
import { serveTcp, type TcpLimits } from '../server/tcp.js';
import type { ActivatedSocket } from '../systemd/listen-fds.js';

/** Backlog of each TCP listener; small, the connection cap does the real limiting. */
const TCP_BACKLOG = 128;

interface Group {
  readonly endpoint: Endpoint;
  readonly listeners: Listener[];
  readonly tcpServers: net.Server[];
}

export interface ListenerSetDeps {
  readonly factory: SocketFactory;
  /** The handler for the listeners on one endpoint (app.ts: who may query there). */
  readonly handlerFor: (ep: Endpoint) => QueryHandler;
  /** Read at each connection and query, so a reload can change them for kept listeners. */
  readonly limits: TcpLimits;
  readonly log: Logger;
}

/** The bind errors that mean "not yet": the address is not on the device, or the device is gone. */
const NOT_YET = new Set(['EADDRNOTAVAIL', 'ENODEV']);

function notYet(e: unknown): string | null {
  const code = (e instanceof ListenError ? (e.cause as { code?: string } | undefined)?.code : undefined) ?? '';
  return NOT_YET.has(code) ? code : null;
}

export class ListenerSet {
  private groups: Group[] = [];
  /**
   * Endpoints waiting for their address (EADDRNOTAVAIL) or their device (ENODEV), when the
   * instance follows its device (app/follow.ts): openPending() tries them again when netlink
   * says an address or the device arrived.
   */
  private waiting: Endpoint[] = [];
  /** True when the listeners came from systemd: Listen= does not apply then. */
  private activated = false;

  constructor(private readonly deps: ListenerSetDeps) {}

  get labels(): string[] {
    return this.groups.flatMap((g) => g.listeners.map((l) => l.label));
  }

  get socketActivated(): boolean {
    return this.activated;
  }

  /** "udp+tcp 127.0.0.1:53 on mgmt" for each endpoint waiting for its address or device. */
  get pendingLabels(): string[] {
    return this.waiting.map((ep) => `udp+tcp ${this.where(ep)}`);
  }

  /**
   * Opens `ep`, or keeps it waiting when its address is not on the device or the device is
   * gone; any other failure throws as open() does. Returns why it waits (the bind error, with
   * the command that adds the address), or null.
   */
  async openOrWait(ep: Endpoint): Promise<string | null> {
    try {
      await this.open(ep);
      return null;
    } catch (e) {
      if (notYet(e) === null) throw e;
      if (!this.waiting.some((w) => sameEndpoint(w, ep))) this.waiting.push(ep);
      return (e as Error).message;
    }
  }

  /** Tries the waiting endpoints again; returns those opened. Other failures are logged and the endpoint keeps waiting. */
  async openPending(): Promise<Endpoint[]> {
    const opened: Endpoint[] = [];
    for (const ep of [...this.waiting]) {
      try {
        await this.open(ep);
        this.waiting = this.waiting.filter((w) => !sameEndpoint(w, ep));
        opened.push(ep);
      } catch (e) {
        if (notYet(e) === null) this.deps.log.error({ err: (e as Error).message }, 'a waiting listener failed to open; it keeps waiting');
      }
    }
    return opened;
  }

  /**
   * The device is gone or was re-created: its sockets are bound to an ifindex that no longer
   * exists. Close them all and keep every endpoint waiting; openPending() re-opens them.
   */
  async closeAndWait(): Promise<void> {
    const eps = this.groups.map((g) => g.endpoint);
    await this.close();
    for (const ep of eps) if (!this.waiting.some((w) => sameEndpoint(w, ep))) this.waiting.push(ep);
  }

  /** UDP and TCP on `ep`, or neither: a TCP failure closes the UDP listener just opened. */
  async open(ep: Endpoint): Promise<void> {
    const { factory, limits, log } = this.deps;
    const handler = this.deps.handlerFor(ep);
    const where = this.where(ep);
    const group: Group = { endpoint: ep, listeners: [], tcpServers: [] };
    try {
      try {
        // The native helper's sockets are served in batches (recvmmsg/sendmmsg); dgram otherwise.
        group.listeners.push(factory.udpListenerFd
          ? serveUdpBatch(factory.udpListenerFd(ep), `udp ${where}`, handler, log)
          : serveUdp(await factory.udpListener(ep), `udp ${where}`, handler, log));
      } catch (e) {
        throw new ListenError(`udp ${where}`, e);
      }
      let tcp;
      try {
        tcp = await factory.tcpListener(ep, TCP_BACKLOG);
      } catch (e) {
        throw new ListenError(`tcp ${where}`, e);
      }
      group.tcpServers.push(tcp);
      group.listeners.push(serveTcp(tcp, `tcp ${where}`, handler, limits, log));
    } catch (e) {
      await closeGroup(group);
      throw e;
    }
    this.groups.push(group);
  }

  /** Serves the sockets systemd passed, in place of opening any. */
  adopt(sockets: readonly ActivatedSocket[]): void {
    const { limits, log } = this.deps;
    this.activated = true;
    for (const s of sockets) {
      const handler = this.deps.handlerFor(s.endpoint);
      let group = this.groups.find((g) => sameEndpoint(g.endpoint, s.endpoint));
      if (!group) {
        group = { endpoint: s.endpoint, listeners: [], tcpServers: [] };
        this.groups.push(group);
      }
      const label = `${s.transport} ${this.where(s.endpoint)} (from systemd, ${s.fd.name})`;
      if (s.transport === 'udp') {
        group.listeners.push(serveUdpBatch(s.fd.fd, label, handler, log));
      } else {
        group.tcpServers.push(s.server);
        group.listeners.push(serveTcp(s.server, label, handler, limits, log));
      }
    }
  }

  /** Closes the listeners on these endpoints. */
  async closeEndpoints(eps: readonly Endpoint[]): Promise<void> {
    this.waiting = this.waiting.filter((w) => !eps.some((ep) => sameEndpoint(ep, w)));
    const gone = this.groups.filter((g) => eps.some((ep) => sameEndpoint(ep, g.endpoint)));
    this.groups = this.groups.filter((g) => !gone.includes(g));
    await Promise.all(gone.map(closeGroup));
  }

  /** Closes every listener; waiting endpoints stay listed (closeAndWait), dropped by closeEndpoints. */
  async close(): Promise<void> {
    const all = this.groups;
    this.groups = [];
    await Promise.all(all.map(closeGroup));
  }

  private where(ep: Endpoint): string {
    const device = this.deps.factory.device;
    return `${ep.family === 6 ? `[${ep.address}]` : ep.address}:${ep.port}${device ? ` on ${device}` : ''}`;
  }
}

async function closeGroup(g: Group): Promise<void> {
  await Promise.all(g.listeners.map((l) => l.close()));
}
