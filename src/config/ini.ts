// The config file syntax of resolved.conf(5) and systemd.syntax(7): a [Resolve] section of
// Key=Value lines, '#' and ';' comment lines, blank lines, whitespace around keys and values
// ignored. Keys are case-sensitive, as in systemd. For list keys (DNS=, Listen=) each
// assignment appends its space-separated items and an empty assignment resets the list so
// far; for other keys the last assignment wins. Problems are collected, never thrown here.

import type { ConfigProblem } from '../errors.js';
import { OPTION_KEYS, isOptionKey, optionSpec, type OptionKey } from './schema.js';

export const SECTION = 'Resolve';

/** One Key=Value, from a file line or a command-line flag. */
export interface Assignment {
  readonly key: OptionKey;
  readonly value: string;
  /** Where, for problems: "/etc/vrf-resolver/mgmt.conf:7 CacheMaxTTLSec" or "--upstream". */
  readonly path: string;
  /** Where, for Config.sources: "DNS= in /etc/vrf-resolver/mgmt.conf" or "--upstream". */
  readonly origin: string;
}

export interface ParsedIni {
  readonly entries: readonly Assignment[];
  readonly problems: readonly ConfigProblem[];
}

export function parseIni(text: string, file: string): ParsedIni {
  const entries: Assignment[] = [];
  const problems: ConfigProblem[] = [];
  let section: string | null = null;

  text.split(/\r?\n/).forEach((rawLine, index) => {
    const where = `${file}:${index + 1}`;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;

    if (line.startsWith('[')) {
      if (!line.endsWith(']')) {
        problems.push({ path: where, message: `malformed section header "${line}"; expected [${SECTION}]` });
        section = '';
        return;
      }
      section = line.slice(1, -1).trim();
      if (section !== SECTION) {
        problems.push({ path: where, message: `unknown section [${section}]; the only section is [${SECTION}]` });
      }
      return;
    }

    const eq = line.indexOf('=');
    if (eq < 0) {
      problems.push({ path: where, message: `expected Key=Value, got "${line}"` });
      return;
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (section === null) {
      problems.push({ path: `${where} ${key}`, message: `assignment outside of a section; put it under [${SECTION}]` });
      return;
    }
    if (section !== SECTION) return; // already reported once, at the section header
    if (!isOptionKey(key)) {
      problems.push({ path: `${where} ${key}`, message: unknownKeyMessage(key) });
      return;
    }
    entries.push({ key, value, path: `${where} ${key}`, origin: `${key}= in ${file}` });
  });

  return { entries, problems };
}

/** A list item with where it came from (its own path, for problems about that one address). */
export interface ListItem {
  readonly value: string;
  readonly path: string;
  readonly origin: string;
}

/** Assignments folded in order: the last one per scalar key, the surviving items per list key. */
export interface Layered {
  readonly scalars: Map<OptionKey, Assignment>;
  /** Absent: never assigned, so the schema default applies. Present (maybe empty): assigned. */
  readonly lists: Map<OptionKey, { items: ListItem[]; lastPath: string }>;
}

export function emptyLayered(): Layered {
  return { scalars: new Map(), lists: new Map() };
}

/**
 * Folds assignments into `into`. The first assignment of a list key replaces its schema
 * default (Listen=10.0.0.1 means only 10.0.0.1), later ones append, an empty one resets.
 */
export function layer(into: Layered, entries: readonly Assignment[]): Layered {
  for (const entry of entries) {
    if (optionSpec(entry.key).kind !== 'list') {
      into.scalars.set(entry.key, entry);
      continue;
    }
    const items = entry.value === '' ? [] : (into.lists.get(entry.key)?.items ?? []);
    for (const value of entry.value.split(/\s+/).filter((v) => v !== '')) {
      items.push({ value, path: entry.path, origin: entry.origin });
    }
    into.lists.set(entry.key, { items, lastPath: entry.path });
  }
  return into;
}

function unknownKeyMessage(key: string): string {
  const near = OPTION_KEYS.find((k) => k.toLowerCase() === key.toLowerCase()) ??
    OPTION_KEYS.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  return `unknown key "${key}"${near ? `; did you mean ${near}=?` : ''} (see "vrf-resolver help config")`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
