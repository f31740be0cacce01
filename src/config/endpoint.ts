// Addresses with an optional port, as written in Listen=, DNS= and on the command line:
//   192.0.2.53   192.0.2.53:5353   ::1   [2001:db8::53]   [2001:db8::53]:5353
// Only IP addresses: a host name would need a resolver to find the resolver's own servers
// (and would be resolved in the wrong VRF). A bare IPv6 address takes no port, because
// "2001:db8::53:53" is itself a valid address; brackets are how a port is given.

import { isIP } from 'node:net';
import type { Endpoint, UpstreamEndpoint } from './types.js';
import type { Parsed } from './schema.js';

export function parseEndpoint(text: string, defaultPort: number): Parsed<Endpoint> {
  const raw = text.trim();
  if (raw === '') return fail('empty address');

  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) return fail(`"${raw}": missing "]" after the IPv6 address`);
    const address = raw.slice(1, close);
    const rest = raw.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return fail(`"${raw}": expected ":PORT" after "]"`);
    const port = rest === '' ? ok(defaultPort) : parsePort(raw, rest.slice(1));
    if (!port.ok) return port;
    if (isIP(address) === 4) return fail(`"${raw}": brackets are for IPv6 addresses; write ${address}${rest}`);
    return v6(raw, address, port.value);
  }

  const family = isIP(raw);
  if (family === 6) return v6(raw, raw, defaultPort);
  if (family === 4) return ok({ family: 4, address: raw, port: defaultPort });

  const colon = raw.lastIndexOf(':');
  if (colon > 0 && raw.indexOf(':') === colon) {
    const address = raw.slice(0, colon);
    const port = parsePort(raw, raw.slice(colon + 1));
    if (isIP(address) === 4) return port.ok ? ok({ family: 4, address, port: port.value }) : port;
    return notAnAddress(raw, address);
  }
  return notAnAddress(raw, raw);
}

/**
 * An upstream server of DNS= or --upstream: an endpoint, optionally followed by "#NAME", the
 * server's TLS name (resolved.conf's syntax: 192.0.2.53#dns.example.net, [2001:db8::53]:853#dns.example.net).
 */
export function parseServer(text: string, defaultPort: number): Parsed<UpstreamEndpoint> {
  const raw = text.trim();
  const hash = raw.indexOf('#');
  let rest = hash < 0 ? raw : raw.slice(0, hash);
  let tlsName: string | undefined;
  if (hash >= 0) {
    tlsName = raw.slice(hash + 1).replace(/\.$/, '').toLowerCase();
    if (!isHostName(tlsName)) {
      return fail(`"${raw}": "${raw.slice(hash + 1)}" after "#" is not a host name (the server's TLS name, e.g. dns.example.net)`);
    }
  }
  // ADDR[:PORT]%DEVICE (resolved's %IFACE): this server is asked through that device.
  let device: string | undefined;
  const pct = rest.lastIndexOf('%');
  if (pct > rest.lastIndexOf(']') && (rest.startsWith('[') || isIP(rest.slice(0, pct).replace(/:[0-9]+$/, '')) === 4)) {
    device = rest.slice(pct + 1);
    rest = rest.slice(0, pct);
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(device)) {
      return fail(`"${raw}": "${device}" after "%" is not a device name (at most 15 characters, e.g. mgmt)`);
    }
  }
  const endpoint = parseEndpoint(rest, defaultPort);
  if (!endpoint.ok) return endpoint;
  return ok({ ...endpoint.value, ...(device !== undefined && { device }), ...(tlsName !== undefined && { tlsName }) });
}

/** RFC 1123 host names: letters, digits and hyphens in dot-separated labels of at most 63. */
export function isHostName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name);
}

/** A server as DNS= takes it back: "192.0.2.53:853%mgmt#dns.example.net". */
export function formatServer(e: UpstreamEndpoint): string {
  return `${formatEndpoint(e)}${e.device !== undefined ? `%${e.device}` : ''}${e.tlsName !== undefined ? `#${e.tlsName}` : ''}`;
}

/** "192.0.2.53:53", "[2001:db8::53]:53": the form logs and check-config print. */
export function formatEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Same address and port, whatever the IPv6 spelling ("::1" and "0:0::1" are one address). */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.family === b.family && a.port === b.port && canonical(a) === canonical(b);
}

/** 0.0.0.0 or ::, which receive on every local address of the device. */
export function isUnspecified(e: Endpoint): boolean {
  return canonical(e) === (e.family === 4 ? '0.0.0.0' : '::');
}

/** 127.0.0.0/8 or ::1: always local, so a wildcard listener on the same port receives it. */
export function isLoopback(e: Endpoint): boolean {
  return e.family === 4 ? e.address.startsWith('127.') : canonical(e) === '::1';
}

function canonical(e: Endpoint): string {
  // The WHATWG URL parser compresses IPv6 addresses (RFC 5952 form); IPv4 as isIP accepts
  // it (dotted decimal, no leading zeros) is already canonical.
  return e.family === 6 ? new URL(`http://[${e.address}]/`).hostname.slice(1, -1) : e.address;
}

function v6(raw: string, address: string, port: number): Parsed<Endpoint> {
  if (isIP(address) !== 6) return notAnAddress(raw, address);
  if (address.includes('%')) {
    return fail(
      `"${raw}": scoped IPv6 addresses (%${address.slice(address.indexOf('%') + 1)}) are not supported; ` +
        'sockets are bound to the VRF device (VRF=, UpstreamDevice=), use a global or loopback address',
    );
  }
  return ok({ family: 6, address: address.toLowerCase(), port });
}

function parsePort(raw: string, text: string): Parsed<number> {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    return fail(`"${raw}": port must be a number from 1 to 65535, got "${text}"`);
  }
  return ok(Number(text));
}

function notAnAddress(raw: string, address: string): Parsed<never> {
  const what = raw === address ? `"${raw}"` : `"${raw}": "${address}"`;
  return fail(`${what} is not an IP address; addresses only (IPv4, IPv6, [IPv6]:PORT), no host names`);
}

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

function fail(message: string): Parsed<never> {
  return { ok: false, message };
}
