// Following the VRF device (issue 12). A socket bound with SO_BINDTODEVICE holds the device's
// ifindex: when mgmt is deleted and created again (ifreload, networkd, NetworkManager, a script),
// every listener is dead while the process looks healthy. Netlink (net/device-watch.ts) tells
// us at once, and here is what the instance does about it:
//
//   - at start, the device may not exist yet: wait up to WaitForDeviceSec for it;
//   - gone: one warn line, the dead listeners are closed, status says GONE; the process, its
//     cache and its control socket stay;
//   - there again (a new ifindex): the listeners are opened on it, the cache kept, old and new
//     ifindex logged; a listen address that is not on the new device yet (the unit's privileged
//     step adds the loopbacks a moment later) waits for it;
//   - an address added: listeners waiting for it open.
// Upstream sockets are made per exchange and bound by name, so they follow by themselves.
// Socket-activated listeners are systemd's and cannot be re-opened here. The socket unit's
// BindToDevice= stops it when the device goes, but systemd refuses to start a socket again while
// its service runs ("Socket service ... already active, refusing", seen in the VM lab), and this
// process would keep running on dead sockets. So a socket-activated instance stops when its
// device goes (or comes back as another device): the socket unit, wanted by the device too,
// listens again when the device is back, and the next query starts the service.

import type { Logger } from 'pino';
import type { App } from '../app.js';
import { DeviceWatcher, type DeviceChange, type DeviceState, type OpenNetlink } from '../net/device-watch.js';

export interface FollowHooks {
  /** The listeners were opened on a re-created device: the metrics listener must follow too. */
  readonly onRebound?: () => Promise<void>;
  /** Anything status shows changed (systemd's STATUS= line). */
  readonly onChange?: () => void;
  /** Socket activation: the device of systemd's sockets is gone, so is every listener; stop the process. */
  readonly onSocketsLost?: (why: string) => void;
}

export class DeviceFollower {
  private app: App | null = null;
  private hooks: FollowHooks = {};
  /** The ifindex the listeners are bound to (or were, before the device went). */
  private bound: number | null = null;
  private arrived: (() => void) | null = null;
  /** Device events are handled one after another, each after the previous one's listener work. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly device: string,
    private readonly log: Logger,
    private readonly watcher: DeviceWatcher,
    private startState: DeviceState,
  ) {}

  /**
   * Starts watching `device`; null when netlink cannot be used (no native helper, a sandbox
   * without AF_NETLINK): then the instance knows only what it finds at start, as before.
   */
  static async open(device: string, log: Logger, open?: OpenNetlink): Promise<DeviceFollower | null> {
    let follower: DeviceFollower | null = null;
    const watcher = new DeviceWatcher(device, (change, state) => follower?.enqueue(change, state), open);
    try {
      const state = await watcher.start();
      follower = new DeviceFollower(device, log, watcher, state);
      return follower;
    } catch (e) {
      watcher.close();
      const err = e as Error & { code?: string };
      log.warn({ device, code: err.code, err: err.message }, `not following ${device}: netlink is not available, so a re-created device needs a restart`);
      return null;
    }
  }

  /** The device's state now. */
  get state(): DeviceState {
    return this.watcher.state();
  }

  /** Resolves true once the device exists, false after ms without it (0: at once) or when `stop` settles first. */
  async waitForDevice(ms: number, stop?: Promise<unknown>): Promise<boolean> {
    if (this.state.ifindex !== null) return true;
    if (ms <= 0) return false;
    this.log.info({ device: this.device, waitForDeviceSec: ms / 1000 }, `waiting for the device ${this.device} to appear`);
    const appeared = new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.arrived = null;
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), ms);
      this.arrived = () => done(true);
      void stop?.then(() => done(false));
    });
    const ok = await appeared;
    if (ok) this.log.info({ device: this.device, ifindex: this.state.ifindex }, `${this.device} appeared`);
    return ok;
  }

  /** From now on the app follows the device; what changed while it started is applied at once. */
  attach(app: App, hooks: FollowHooks = {}): void {
    this.app = app;
    this.hooks = hooks;
    this.bound = this.startState.ifindex;
    app.setDevice({ ifindex: this.bound, present: this.bound !== null, following: true });
    const now = this.state;
    if (now.ifindex !== this.bound) {
      if (this.bound !== null) this.enqueue({ type: 'gone', ifindex: this.bound }, now);
      if (now.ifindex !== null) this.enqueue({ type: 'appeared', ifindex: now.ifindex }, now);
    } else if (app.pendingListenerLabels.length > 0) this.enqueue({ type: 'resynced' }, now);
  }

  close(): void {
    this.watcher.close();
  }

  private enqueue(change: DeviceChange, state: DeviceState): void {
    if (change.type === 'appeared') this.arrived?.();
    if (this.app === null) {
      this.startState = state;
      return;
    }
    this.queue = this.queue.then(() => this.handle(change)).catch((e: unknown) => {
      this.log.error({ device: this.device, err: (e as Error).message }, 'following the device failed; the listeners may need a restart');
    });
  }

  private async handle(change: DeviceChange): Promise<void> {
    const app = this.app!;
    const { log, device } = this;
    if (app.socketActivated) {
      if ((change.type === 'gone' && change.ifindex === this.bound) || (change.type === 'appeared' && change.ifindex !== this.bound)) {
        const why = `${device} ${change.type === 'gone' ? 'is gone' : 'was created again'}: systemd's sockets (socket activation) are bound to the old device`;
        log.warn({ device, change: change.type, ifindex: change.ifindex, oldIfindex: this.bound },
          `${why}; stopping, so that vrf-resolver@${device}.socket listens again when ${device} is back and the next query starts the service`);
        this.bound = null;
        this.hooks.onSocketsLost?.(why);
      }
      return;
    }
    switch (change.type) {
      case 'gone':
        if (change.ifindex !== this.bound) return;
        await app.deviceLost();
        app.setDevice({ ifindex: null, present: false, following: true });
        log.warn({ device, ifindex: change.ifindex }, `${device} is gone: answering nothing until it is created again (the cache is kept)`);
        break;
      case 'appeared': {
        const old = this.bound;
        if (old === change.ifindex) return;
        if (app.device.present && old !== null) await app.deviceLost(); // re-created without a deletion seen (a resync)
        this.bound = change.ifindex;
        app.setDevice({ ifindex: change.ifindex, present: true, following: true });
        await app.openWaiting();
        await this.hooks.onRebound?.();
        log.info({ device, oldIfindex: old, ifindex: change.ifindex, listeners: app.listenerLabels, waiting: app.pendingListenerLabels },
          old === null ? `${device} is there: listening` : `${device} was created again: listening on it, cache kept`);
        break;
      }
      case 'address-added':
      case 'resynced': {
        if (app.pendingListenerLabels.length === 0) return;
        const opened = await app.openWaiting();
        if (opened.length > 0) log.info({ device, address: change.type === 'address-added' ? change.address : undefined, listeners: opened, waiting: app.pendingListenerLabels }, 'waiting listeners opened');
        break;
      }
      case 'address-removed':
        return; // a socket bound to a removed address stops receiving; it is not re-opened until the address is back
    }
    this.hooks.onChange?.();
  }
}
