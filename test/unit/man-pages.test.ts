// The man pages and the example configuration are generated from the command table and the
// config schema (src/cli/render/man.ts, example-conf.ts), as --help and the README's tables
// are; the package renders them at build time, so nothing committed can go stale. These tests
// keep the renderers complete: every command, usage line, operand and flag, every key with its
// default, every exit code; the roff is well formed; and the example configuration is a valid
// file whose values are the defaults.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { COMMANDS } from '../../src/cli/table.js';
import { EXIT } from '../../src/cli/command.js';
import { OPTION_KEYS, optionSpec, formatDefault } from '../../src/config/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { renderCommandManPage, renderConfigManPage } from '../../src/cli/render/man.js';
import { exampleValue, renderExampleConfig } from '../../src/cli/render/example-conf.js';
import { roffText } from '../../src/cli/render/roff.js';

const info = { version: '9.8.7', date: '2026-12-01' };
const page8 = renderCommandManPage(info);
const page5 = renderConfigManPage(info);

/** What the reader sees of roff text: escapes undone (enough for these pages). */
function plain(roff: string): string {
  return roff.replace(/\\f[BIR]/g, '').replace(/\\-/g, '-').replace(/\\e/g, '\\').replace(/\\&/g, '');
}

describe('roffText', () => {
  it('escapes backslashes and dashes, and a leading dot or quote, so groff prints the text as written', () => {
    expect(roffText('a\\b --flag')).toBe('a\\eb \\-\\-flag');
    expect(roffText('.hidden\n\'quoted')).toBe('\\&.hidden\n\\&\'quoted');
  });
});

describe('vrf-resolver(8)', () => {
  const text = plain(page8);
  it('has the title, NAME and the sections a man page has', () => {
    expect(page8).toMatch(/^\.TH "VRF\\-RESOLVER" 8 "2026\\-12\\-01" "vrf\\-resolver 9.8.7" "System Administration"$/m);
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'EXIT STATUS', 'FILES', 'SEE ALSO']) expect(page8).toMatch(new RegExp(`^\\.SH ${s}$`, 'm'));
  });
  it('describes every command of the table, with every usage line, operand and flag', () => {
    for (const c of COMMANDS) {
      expect(page8, c.name).toMatch(new RegExp(`^\\.SS\\n${roffText(c.name).replace(/\\/g, '\\\\')}$`, 'm'));
      for (const u of c.usage) expect(text, u).toContain(u);
      for (const o of c.operands) expect(text, `${c.name} ${o.name}`).toContain(o.help.replace(/\s*\n\s*/g, ' '));
      for (const f of c.flags) {
        expect(text, `${c.name} ${f.name}`).toContain(f.arg ? `${f.name} ${f.arg}` : f.name);
        expect(text, `${c.name} ${f.name} help`).toContain(f.help);
      }
    }
  });
  it('lists every exit code', () => {
    for (const code of Object.values(EXIT)) expect(page8).toMatch(new RegExp(`^\\\\fB${code}\\\\fR$`, 'm'));
  });
});

describe('vrf-resolver.conf(5)', () => {
  const text = plain(page5);
  it('documents every key with its default, its bounds and its flag', () => {
    for (const key of OPTION_KEYS) {
      const spec = optionSpec(key);
      expect(page5, key).toMatch(new RegExp(`^\\.TP\\n\\\\fB${key}=\\\\fR$`, 'm'));
      expect(text, `${key} doc`).toContain(spec.doc);
      expect(text, `${key} default`).toContain(`Default: ${formatDefault(spec)}.`);
      if (spec.flag) expect(text, `${key} flag`).toContain(`Flag: ${spec.flag.name}`);
    }
  });
});

describe('both pages', () => {
  it('have no line that roff would take for a request by accident', () => {
    for (const page of [page8, page5]) {
      for (const line of page.split('\n')) {
        if (line.startsWith('.')) expect(line, line).toMatch(/^\.(TH|SH|SS|PP|TP|IP|RS|RE|nf|fi|nh|ad) ?/);
        if (line.startsWith("'")) throw new Error(`line starts with a quote: ${line}`);
      }
    }
  });
  // man-db's own check, as lintian runs it; skipped where groff is not installed.
  const groff = spawnSync('sh', ['-c', 'command -v groff'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!groff)('render with no warning from groff -man -ww', () => {
    for (const page of [page8, page5]) {
      const r = spawnSync('groff', ['-man', '-ww', '-Tutf8', '-z'], { input: page, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});

describe('the example configuration', () => {
  const path = '/etc/vrf-resolver/vrf-resolver.conf.example';
  const example = renderExampleConfig(path);
  it('names every key once, commented out, with its default', () => {
    for (const key of OPTION_KEYS) {
      const lines = example.split('\n').filter((l) => l.startsWith(`#${key}=`));
      expect(lines, key).toEqual([`#${key}=${exampleValue(optionSpec(key))}`]);
    }
    expect(example.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))).toEqual(['[Resolve]']);
  });
  it('is a valid configuration as it stands, and with every key that has a value uncommented gives the defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-example-'));
    try {
      const asIs = join(dir, 'as-is.conf');
      writeFileSync(asIs, example);
      const uncommented = join(dir, 'uncommented.conf');
      writeFileSync(uncommented, example.replace(/^#([A-Za-z]+=.+)$/gm, '$1'));
      // Both name the file they came from (configFiles, sources): only the settings are compared.
      const load = (file: string): Record<string, unknown> =>
        Object.fromEntries(Object.entries(loadConfig({ file, flags: { upstream: ['192.0.2.1'] }, instance: 'mgmt' }))
          .filter(([, v]) => !JSON.stringify(v ?? null).includes(dir)));
      const [given, none] = [load(uncommented), load(asIs)];
      // Some keys are in the config only when a file sets them (AddLoopbackAddresses=, ...):
      // set, they must hold the schema's default.
      for (const [k, v] of Object.entries(given)) {
        if (k in none) continue;
        const key = `${k[0]!.toUpperCase()}${k.slice(1)}`;
        expect(OPTION_KEYS, k).toContain(key);
        expect(v, key).toEqual(optionSpec(key as (typeof OPTION_KEYS)[number]).default);
        delete given[k];
      }
      expect(given).toEqual(none);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
