// The DNS-over-TLS keys of a config (DNSOverTLS=, TLSCAFile=, TLSPinSHA256=), resolved for
// load.ts. The CA file is read here once, so a missing or empty file is a config error at
// start and at reload, not a handshake failure later; problems go through load.ts's report().

import { readFileSync } from 'node:fs';
import { OPTIONS, parseEnum, type OptionKey } from './schema.js';
import { describeReadError } from './resolv-conf.js';
import type { Assignment, Layered } from './ini.js';
import type { DnsOverTls, TlsConfig } from './types.js';

type Given = (key: OptionKey) => Assignment | undefined;
type Report = (path: string, message: string) => void;

/** Port of DNS over TLS (RFC 7858 section 3.1), for servers given without one. */
export const DOT_PORT = 853;

export function resolveTls(layered: Layered, given: Given, report: Report): TlsConfig {
  let mode: DnsOverTls = 'no';
  const modeSet = given('DNSOverTLS');
  if (modeSet !== undefined) {
    const p = parseEnum(OPTIONS.DNSOverTLS, modeSet.value);
    if (p.ok) mode = p.value;
    else report(modeSet.path, p.message);
  }

  let caFile: string | null = null;
  const caSet = given('TLSCAFile');
  if (caSet !== undefined && caSet.value !== '') {
    caFile = caSet.value;
    try {
      if (!readFileSync(caFile, 'utf8').includes('-----BEGIN CERTIFICATE-----')) {
        report(caSet.path, `${caFile} has no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
      }
    } catch (err) {
      report(caSet.path, describeReadError(caFile, err));
    }
  }

  const pinsSha256: string[] = [];
  for (const item of layered.lists.get('TLSPinSHA256')?.items ?? []) {
    const bytes = /^[A-Za-z0-9+/]{43}=$/.test(item.value) ? Buffer.from(item.value, 'base64') : null;
    if (bytes === null || bytes.length !== 32) {
      report(item.path, `"${item.value}" is not a SHA-256 pin: 44 characters of base64 (32 bytes), as openssl dgst -sha256 -binary | base64 prints`);
    } else {
      pinsSha256.push(item.value);
    }
  }

  if (mode === 'no') {
    // Keys that would do nothing: say so rather than let an operator believe DNS is encrypted.
    for (const key of ['TLSCAFile', 'TLSPinSHA256'] as const) {
      const set = key === 'TLSPinSHA256' ? layered.lists.get(key)?.lastPath : given(key)?.path;
      if (set !== undefined && (key === 'TLSCAFile' ? caFile !== null : pinsSha256.length > 0)) {
        report(set, `${key}= is set but DNSOverTLS= is no: set DNSOverTLS=yes (or opportunistic), or remove ${key}=`);
      }
    }
  } else if (mode === 'opportunistic' && pinsSha256.length > 0) {
    report(layered.lists.get('TLSPinSHA256')!.lastPath,
      'TLSPinSHA256= needs DNSOverTLS=yes: opportunistic TLS does not check the server (RFC 8310 section 5)');
  }
  return { mode, caFile, pinsSha256 };
}
