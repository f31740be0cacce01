// Follows one network device by name (the VRF device of this instance) through the kernel's
// netlink events: does it exist, under which ifindex, is it up, which addresses does it have.
// A socket bound to a device with SO_BINDTODEVICE keeps the ifindex it was bound to; when the
// device is deleted and created again (ifreload, a networkd restart, a script) every such socket
// is dead, and the app learns it here ('gone', then 'appeared' with the new ifindex).
//
// The source is the native helper's NETLINK_ROUTE socket (netlinkOpen), injected so tests feed
// recorded datagrams. The state is read with a dump (links, then addresses: one dump at a time
// per socket) at start, and again whenever the kernel says events were lost (ENOBUFS). Events
// that arrive while a dump runs belong to the same ordered stream and are applied in order.
//
// During a dump the state is rebuilt from nothing, beside the one callers see. At the end,
// the difference from the old state is emitted as ordinary changes, then 'resynced' (not at
// start: start() resolves with the state instead). Between dumps, events change the state
// directly and each change is emitted as it happens.

import { systemClock, type Clock } from '../clock.js';
import { netlinkOpen } from '../native/binding.js';
import { parseNetlink, type NetlinkEvent } from './netlink.js';

export interface NetlinkSource {
  dump(what: 'link' | 'addr'): void;
  close(): void;
}

export type OpenNetlink = (onData: (err: { code?: string } | null, datagrams: Buffer[]) => void) => NetlinkSource;

export interface DeviceState {
  readonly name: string;
  /** null while no device of that name exists. */
  readonly ifindex: number | null;
  /** IFF_UP (administratively up); false while the device does not exist. */
  readonly up: boolean;
  /** IFLA_INFO_KIND: 'vrf' for a VRF; null for devices without one, or no device. */
  readonly kind: string | null;
  /** "127.0.0.1", "::1", ... on the device now. */
  readonly addresses: ReadonlySet<string>;
}

export type DeviceChange =
  /** The device exists now: the first time, or again with a new ifindex. */
  | { readonly type: 'appeared'; readonly ifindex: number }
  /** Deleted, renamed away, or replaced by another device of the same name. */
  | { readonly type: 'gone'; readonly ifindex: number }
  | { readonly type: 'address-added'; readonly address: string }
  | { readonly type: 'address-removed'; readonly address: string }
  /** After lost events: the state was read again; the differences were emitted before this. */
  | { readonly type: 'resynced' };

export interface DeviceWatcherOptions {
  /** Runs the retry timer (default: the system clock). */
  readonly clock?: Clock;
  /** Lost events and failed dumps, one line each (default: silent). */
  readonly log?: (message: string) => void;
}

/** Dumps that fail (or lose events) in a row are retried after 50 ms, 100 ms, ... up to 1 s. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1_000;

/** What we know of the device; the same shape for the state callers see and a dump's. */
interface Tracked {
  ifindex: number | null;
  up: boolean;
  kind: string | null;
  addresses: Set<string>;
}

interface Dump {
  phase: 'link' | 'addr';
  /** The state rebuilt from nothing by this dump and the events during it. */
  fresh: Tracked;
  /** Events were lost, or the kernel flagged the dump inconsistent: its result is not trusted. */
  spoiled: boolean;
}

const absent = (): Tracked => ({ ifindex: null, up: false, kind: null, addresses: new Set() });

type Emit = (change: DeviceChange) => void;

export class DeviceWatcher {
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private live: Tracked = absent();
  private source: NetlinkSource | null = null;
  private dump: Dump | null = null;
  /** Dumps that failed in a row; sets the retry delay. */
  private failures = 0;
  private cancelRetry: (() => void) | null = null;
  private started: Promise<DeviceState> | null = null;
  private starting: { resolve: (s: DeviceState) => void; reject: (e: unknown) => void } | null = null;
  private closed = false;
  /** The first exception thrown by onChange in this batch; rethrown once the batch is applied. */
  private listenerError: { error: unknown } | null = null;

  constructor(
    private readonly device: string,
    private readonly onChange: (change: DeviceChange, state: DeviceState) => void,
    private readonly open: OpenNetlink = netlinkOpen,
    options: DeviceWatcherOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => {});
  }

  /**
   * Opens the socket, dumps links then addresses; resolves once the state is known. Rejects
   * with the native error if netlink cannot be opened, and with an Error if close() comes
   * first. A dump that fails is retried (see RETRY_MAX_MS) until it succeeds.
   */
  start(): Promise<DeviceState> {
    if (this.started) return this.started;
    if (this.closed) return Promise.reject(new Error(`DeviceWatcher(${this.device}) is closed`));
    this.started = new Promise<DeviceState>((resolve, reject) => {
      this.starting = { resolve, reject };
    });
    try {
      this.source = this.open((err, datagrams) => this.onData(err, datagrams));
    } catch (e) {
      this.starting = null;
      this.closed = true;
      this.started = Promise.reject(e);
      return this.started;
    }
    this.startDump();
    return this.started;
  }

  state(): DeviceState {
    return this.snapshot();
  }

  /** Closes the socket and cancels a retry; no change is emitted after it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelRetry?.();
    this.cancelRetry = null;
    this.dump = null;
    const source = this.source;
    this.source = null;
    source?.close();
    if (this.starting) {
      this.starting.reject(new Error(`DeviceWatcher(${this.device}) closed before the device state was known`));
      this.starting = null;
    }
  }

  /**
   * One batch from the socket. An exception thrown by onChange does not stop the batch (the
   * state would fall behind the kernel); the first one is thrown at the end, where the native
   * helper reports it as an uncaught exception.
   */
  private onData(err: { code?: string } | null, datagrams: Buffer[]): void {
    if (this.closed) return;
    if (err) {
      this.log(`netlink: events lost (${err.code ?? 'error'}), reading the state of ${this.device} again`);
      if (this.dump) this.dump.spoiled = true;
      else if (!this.cancelRetry) this.startDump(); // else the pending retry will dump
    }
    for (const datagram of datagrams) {
      for (const event of parseNetlink(datagram)) {
        if (this.closed) break; // closed by onChange
        this.handle(event);
      }
    }
    const thrown = this.listenerError;
    this.listenerError = null;
    if (thrown) throw thrown.error;
  }

  private handle(event: NetlinkEvent): void {
    const dump = this.dump;
    switch (event.kind) {
      case 'done':
        if (!dump) return; // not ours to end
        if (event.interrupted) dump.spoiled = true;
        if (dump.phase === 'link') {
          dump.phase = 'addr';
          this.request('addr');
        } else {
          this.finishDump(dump);
        }
        return;
      case 'error':
        // Errors answer our own requests only (we never ask for acknowledgements: errno 0).
        if (dump && event.errno !== 0) this.failDump(`the kernel refused the ${dump.phase} dump (errno ${event.errno})`);
        return;
      case 'link':
      case 'addr':
        if (dump) {
          if (event.interrupted) dump.spoiled = true;
          this.apply(dump.fresh, event, null);
        } else {
          this.apply(this.live, event, (change) => this.emit(change));
        }
    }
  }

  /**
   * One event on one state. With emit, each change is announced once the state holds it.
   * Addresses are kept for the current ifindex only; a device that goes takes them along.
   */
  private apply(s: Tracked, event: NetlinkEvent, emit: Emit | null): void {
    if (event.kind === 'addr') {
      if (event.ifindex !== s.ifindex) return;
      if (event.op === 'new' && !s.addresses.has(event.address)) {
        s.addresses.add(event.address);
        emit?.({ type: 'address-added', address: event.address });
      } else if (event.op === 'del' && s.addresses.delete(event.address)) {
        emit?.({ type: 'address-removed', address: event.address });
      }
      return;
    }
    if (event.kind !== 'link') return;
    if (event.ifindex === s.ifindex) {
      if (event.op === 'del' || event.name !== this.device) {
        this.vanish(s, emit); // deleted, moved to another namespace, or renamed away
      } else {
        s.up = event.up; // flags or attributes changed: nothing to announce
        s.kind = event.linkKind;
      }
    } else if (event.op === 'new' && event.name === this.device) {
      // A device of our name with another ifindex: the old one was replaced without us seeing
      // it deleted (or it is the first one we see).
      if (s.ifindex !== null) this.vanish(s, emit);
      this.appear(s, event.ifindex, event.up, event.linkKind, emit);
    }
  }

  private vanish(s: Tracked, emit: Emit | null): void {
    const ifindex = s.ifindex;
    if (ifindex === null) return;
    s.ifindex = null;
    s.up = false;
    s.kind = null;
    s.addresses.clear(); // no address-removed for each: 'gone' says it all
    emit?.({ type: 'gone', ifindex });
  }

  private appear(s: Tracked, ifindex: number, up: boolean, kind: string | null, emit: Emit | null): void {
    s.ifindex = ifindex;
    s.up = up;
    s.kind = kind;
    s.addresses.clear();
    emit?.({ type: 'appeared', ifindex });
  }

  private startDump(): void {
    if (this.closed || this.dump) return;
    this.dump = { phase: 'link', fresh: absent(), spoiled: false };
    this.request('link');
  }

  private request(what: 'link' | 'addr'): void {
    try {
      this.source?.dump(what);
    } catch (e) {
      this.failDump(`cannot ask for a ${what} dump: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private failDump(why: string): void {
    this.dump = null;
    this.failures += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(this.failures - 1, 10));
    this.log(`netlink: ${why}; trying again in ${delay} ms`);
    this.cancelRetry?.();
    this.cancelRetry = this.clock.after(delay, () => {
      this.cancelRetry = null;
      this.startDump();
    });
  }

  private finishDump(dump: Dump): void {
    if (dump.spoiled) {
      this.failDump('events were lost during the dump');
      return;
    }
    this.dump = null;
    this.failures = 0;
    if (this.starting) {
      this.live = dump.fresh; // the first state: nothing to announce, start() returns it
      this.starting.resolve(this.snapshot());
      this.starting = null;
      return;
    }
    this.reconcile(dump.fresh);
    this.emit({ type: 'resynced' });
  }

  /** Steps the state callers see to `fresh`, announcing each difference as an event would. */
  private reconcile(fresh: Tracked): void {
    const s = this.live;
    const emit: Emit = (change) => this.emit(change);
    if (fresh.ifindex !== s.ifindex) {
      this.vanish(s, emit);
      if (fresh.ifindex !== null) this.appear(s, fresh.ifindex, fresh.up, fresh.kind, emit);
    }
    s.up = fresh.up;
    s.kind = fresh.kind;
    for (const address of [...s.addresses]) {
      if (!fresh.addresses.has(address)) {
        s.addresses.delete(address);
        emit({ type: 'address-removed', address });
      }
    }
    for (const address of fresh.addresses) {
      if (!s.addresses.has(address)) {
        s.addresses.add(address);
        emit({ type: 'address-added', address });
      }
    }
  }

  private emit(change: DeviceChange): void {
    if (this.closed) return;
    try {
      this.onChange(change, this.snapshot());
    } catch (error) {
      this.listenerError ??= { error };
    }
  }

  private snapshot(): DeviceState {
    const s = this.live;
    return { name: this.device, ifindex: s.ifindex, up: s.up, kind: s.kind, addresses: new Set(s.addresses) };
  }
}
