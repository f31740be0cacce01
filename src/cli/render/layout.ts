// The human output of the operator commands, laid out as resolvectl lays out its status and
// statistics: section headers flush left, "Key: value" lines with every colon in one column, a
// value of several lines continued under its first line.

export type Line =
  | { readonly header: string }
  | { readonly key: string; readonly value: string | readonly string[] }
  | { readonly blank: true };

export const blank: Line = { blank: true };

export function render(lines: readonly Line[]): string {
  const width = Math.max(0, ...lines.map((l) => ('key' in l ? l.key.length : 0)));
  const out: string[] = [];
  for (const l of lines) {
    if ('header' in l) out.push(l.header);
    else if ('blank' in l) out.push('');
    else {
      const values = typeof l.value === 'string' ? [l.value] : l.value.length > 0 ? l.value : ['none'];
      values.forEach((v, i) => out.push(`${i === 0 ? `${l.key}:`.padStart(width + 1) : ' '.repeat(width + 1)} ${v}`));
    }
  }
  return out.join('\n') + '\n';
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]!}`;
}

/** 93784 → "1d 2h 3m 4s"; leading zero units left out. */
export function formatDuration(totalSec: number): string {
  const s = Math.max(0, Math.floor(totalSec));
  const parts: [number, string][] = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'], [Math.floor(s / 60) % 60, 'm'], [s % 60, 's']];
  const first = parts.findIndex(([v]) => v > 0);
  return first < 0 ? '0s' : parts.slice(first).map(([v, u]) => `${v}${u}`).join(' ');
}

/** Milliseconds to three significant digits, "-" when there is no figure yet. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return `${ms >= 100 ? Math.round(ms) : Number(ms.toPrecision(3))} ms`;
}

/** {A: 3, AAAA: 5} → "AAAA 5, A 3": largest first, so the common ones lead. */
export function formatTally(t: Readonly<Record<string, number>>): string {
  const entries = Object.entries(t).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ${n}`).join(', ');
}
