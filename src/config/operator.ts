// The operator's keys of a config, resolved for load.ts: who may query (AllowFrom=, DenyAction=)
// and where the control plane listens (ControlSocket=, ControlGroup=, Metrics=). Problems are
// reported through load.ts's report(), so they arrive with all the others in one ConfigError.

import { isAbsolute } from 'node:path';
import { CONTROL_DIR, OPTIONS, parseEnum, type OptionKey } from './schema.js';
import { parseCidr, type Cidr } from './cidr.js';
import { formatEndpoint, parseEndpoint, sameEndpoint } from './endpoint.js';
import type { Assignment, Layered } from './ini.js';
import type { AccessConfig, ControlConfig, Endpoint } from './types.js';

type Given = (key: OptionKey) => Assignment | undefined;
type Report = (path: string, message: string) => void;

/** sun_path is 108 bytes with its terminating NUL (unix(7)). */
const MAX_UNIX_PATH = 107;

export function resolveAccess(layered: Layered, given: Given, report: Report): AccessConfig {
  // AllowFrom=: networks, appended like Listen=; an empty list allows nobody, which is refused.
  const allowSet = layered.lists.get('AllowFrom');
  const allowItems = allowSet?.items ?? OPTIONS.AllowFrom.default.map((value) => ({ value, path: 'AllowFrom= (default)', origin: 'default' }));
  const allowFrom: Cidr[] = [];
  for (const item of allowItems) {
    const p = parseCidr(item.value);
    if (p.ok) allowFrom.push(p.value);
    else report(item.path, p.message);
  }
  if (allowSet !== undefined && allowSet.items.length === 0) {
    report(allowSet.lastPath, 'no client networks: AllowFrom= cleared the list and none followed, so nobody could ask');
  }
  let denyAction: 'refuse' | 'drop' = 'refuse';
  const deny = given('DenyAction');
  if (deny !== undefined) {
    const p = parseEnum(OPTIONS.DenyAction, deny.value);
    if (p.ok) denyAction = p.value;
    else report(deny.path, p.message);
  }
  return { allowFrom, denyAction };
}

/** `instance` names the default socket; `listen` are the DNS endpoints the metrics must not take. */
export function resolveControl(layered: Layered, given: Given, report: Report, instance: string, listen: readonly Endpoint[]): ControlConfig {
  // ControlSocket=: unset is the default path, an empty value turns it off.
  const controlSet = layered.scalars.get('ControlSocket');
  let controlSocket: string | null = `${CONTROL_DIR}/${instance}.sock`;
  if (controlSet !== undefined) {
    controlSocket = controlSet.value === '' ? null : controlSet.value;
    if (controlSocket !== null && !isAbsolute(controlSocket)) {
      report(controlSet.path, `"${controlSocket}" is not an absolute path (e.g. ${CONTROL_DIR}/${instance}.sock); an empty value turns the control socket off`);
    } else if (controlSocket !== null && Buffer.byteLength(controlSocket) > MAX_UNIX_PATH) {
      report(controlSet.path, `"${controlSocket}" is longer than the ${MAX_UNIX_PATH} bytes a Unix socket path may have`);
    }
  }
  const groupSet = given('ControlGroup');
  const controlGroup = groupSet === undefined ? null : groupSet.value;
  if (groupSet !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/.test(groupSet.value)) {
    report(groupSet.path, `"${groupSet.value}" is not a group name`);
  }
  let metrics: Endpoint | null = null;
  const metricsSet = given('Metrics');
  if (metricsSet !== undefined) {
    const p = parseEndpoint(metricsSet.value, 0);
    if (!p.ok) report(metricsSet.path, p.message);
    else if (p.value.port === 0) report(metricsSet.path, `"${metricsSet.value}" needs a port, e.g. 127.0.0.1:9153`);
    else if (listen.some((l) => sameEndpoint(l, p.value))) {
      report(metricsSet.path, `${formatEndpoint(p.value)} is also a DNS listener (TCP): give the metrics their own port`);
    } else metrics = p.value;
  }
  return { instance, socket: controlSocket, group: controlGroup, metrics };
}
