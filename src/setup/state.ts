// What setup changed on this host, so a second run knows what is its own and --undo can put
// everything back: one JSON file, written after every step (a setup that stops half-way can
// still be undone). The originals it replaced are kept inside it: resolv.conf's symlink target
// or text, the hosts line of nsswitch.conf as it was, resolved's enablement.

export const STATE_DIR = '/var/lib/vrf-resolver/setup';
export const STATE_FILE = `${STATE_DIR}/state.json`;

/** /etc/resolv.conf before setup replaced it. */
export type SavedResolvConf =
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'file'; readonly text: string; readonly mode: number }
  | { readonly kind: 'absent' };

export interface SetupState {
  readonly version: 1;
  /** The VRFs set up, in order; --undo of the last one also undoes what they share. */
  readonly vrfs: readonly string[];
  /** Units setup enabled (they were not before): vrf-resolver@mgmt.service, vrf-resolver@default.service. */
  readonly enabled: readonly string[];
  /** Configuration files setup wrote, with what it wrote: --undo removes a file only while it is unchanged. */
  readonly wrote: readonly { readonly path: string; readonly sha256: string }[];
  /** /etc/resolv.conf as it was, and a digest of what setup wrote in its place. */
  readonly resolvConf?: { readonly saved: SavedResolvConf; readonly wroteSha256: string };
  /** The hosts line of nsswitch.conf as it was (before) and as setup wrote it (after). */
  readonly nsswitch?: { readonly before: string; readonly after: string };
  /** How setup left systemd-resolved, and how it found it. */
  readonly resolved?: {
    readonly mode: 'disabled' | 'stub-off';
    /** Units that were enabled / active and setup disabled / stopped (the service, its sockets). */
    readonly wasEnabled: readonly string[];
    readonly wasActive: readonly string[];
  };
}

export const EMPTY_STATE: SetupState = { version: 1, vrfs: [], enabled: [], wrote: [] };

/** True when the state records nothing left to undo. */
export function isEmptyState(s: SetupState): boolean {
  return s.vrfs.length === 0 && s.enabled.length === 0 && s.wrote.length === 0 && s.resolvConf === undefined && s.nsswitch === undefined && s.resolved === undefined;
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parses the state file; throws with what is wrong, since acting on a misread state would undo the wrong things. */
export function parseState(text: string, path: string): SetupState {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path} is not JSON (${(e as Error).message}): move it away to start afresh`);
  }
  const bad = (what: string): never => {
    throw new Error(`${path}: ${what}; it was not written by this vrf-resolver (move it away to start afresh)`);
  };
  if (v === null || typeof v !== 'object' || v['version'] !== 1) bad('version is not 1');
  if (!strings(v['vrfs']) || !strings(v['enabled'])) bad('vrfs and enabled must be lists of names');
  const wrote = v['wrote'];
  if (!Array.isArray(wrote) || !wrote.every((w) => typeof w?.path === 'string' && typeof w?.sha256 === 'string')) bad('wrote must list {path, sha256}');
  const rc = v['resolvConf'] as { saved?: { kind?: string; target?: unknown; text?: unknown; mode?: unknown }; wroteSha256?: unknown } | undefined;
  if (rc !== undefined) {
    const k = rc.saved?.kind;
    const ok = typeof rc.wroteSha256 === 'string' && (k === 'absent' || (k === 'symlink' && typeof rc.saved?.target === 'string') || (k === 'file' && typeof rc.saved?.text === 'string' && typeof rc.saved?.mode === 'number'));
    if (!ok) bad('resolvConf is malformed');
  }
  const ns = v['nsswitch'] as { before?: unknown; after?: unknown } | undefined;
  if (ns !== undefined && (typeof ns.before !== 'string' || typeof ns.after !== 'string')) bad('nsswitch is malformed');
  const rs = v['resolved'] as { mode?: unknown; wasEnabled?: unknown; wasActive?: unknown } | undefined;
  if (rs !== undefined && ((rs.mode !== 'disabled' && rs.mode !== 'stub-off') || !strings(rs.wasEnabled) || !strings(rs.wasActive))) bad('resolved is malformed');
  return v as unknown as SetupState;
}
