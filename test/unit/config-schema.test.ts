import { describe, expect, it } from 'vitest';
import {
  OPTIONS, OPTION_KEYS, formatDefault, optionSpec, parseBool, parseEnum, parseInteger, renderConfigReference,
} from '../../src/config/schema.js';

describe('schema', () => {
  it('every key is CamelCase, as in resolved.conf(5), and documented', () => {
    for (const key of OPTION_KEYS) {
      expect(key).toMatch(/^[A-Z][A-Za-z]*[0-9]*$/); // digits only at the end (TLSPinSHA256)
      expect(optionSpec(key).doc.length).toBeGreaterThan(20);
    }
  });

  it('every integer default lies within its bounds', () => {
    for (const key of OPTION_KEYS) {
      const spec = optionSpec(key);
      if (spec.kind !== 'int') continue;
      expect(spec.default, key).toBeGreaterThanOrEqual(spec.min);
      expect(spec.default, key).toBeLessThanOrEqual(spec.max);
    }
  });

  it('uses 1232 for EDNS sizes (RFC 6891, DNS Flag Day 2020) and 5 s for failures (RFC 9520)', () => {
    expect(OPTIONS.EDNSBufferSize.default).toBe(1232);
    expect(OPTIONS.MaxUDPSize.default).toBe(1232);
    expect(OPTIONS.CacheFailureTTLSec.default).toBe(5);
    expect(OPTIONS.CacheFailureTTLSec.max).toBe(300);
    expect(OPTIONS.CacheNegativeMaxTTLSec.default).toBe(3600); // RFC 2308 section 5
  });

  it('accepts the boolean spellings of systemd, in any case', () => {
    for (const t of ['yes', 'YES', 'true', 'on', '1', 'y']) expect(parseBool(t)).toEqual({ ok: true, value: true });
    for (const f of ['no', 'False', 'off', '0', 'n']) expect(parseBool(f)).toEqual({ ok: true, value: false });
    expect(parseBool('maybe')).toEqual({ ok: false, message: expect.stringMatching(/expected a boolean/) });
  });

  it('parses integers strictly and names the bounds and unit', () => {
    const spec = OPTIONS.UpstreamTimeoutMs;
    expect(parseInteger(spec, '200')).toEqual({ ok: true, value: 200 });
    for (const bad of ['1.5', '-1', '5s', '0x10', '', ' 1']) {
      expect(parseInteger(spec, bad)).toEqual({ ok: false, message: `expected an integer from 50 to 60000 (ms), got "${bad}"` });
    }
    expect(parseInteger(spec, '10')).toEqual({ ok: false, message: '10 is out of bounds: must be from 50 to 60000 (ms)' });
  });

  it('parses enums case-insensitively', () => {
    expect(parseEnum(OPTIONS.LogLevel, 'DEBUG')).toEqual({ ok: true, value: 'debug' });
    expect(parseEnum(OPTIONS.LogLevel, 'verbose')).toEqual({ ok: false, message: expect.stringMatching(/one of fatal, error/) });
  });

  it('renders a Markdown reference with every key, flag and default', () => {
    const md = renderConfigReference();
    const lines = md.trimEnd().split('\n');
    expect(lines[0]).toBe('| Key | Flag | Default | Meaning |');
    expect(lines).toHaveLength(OPTION_KEYS.length + 2);
    for (const key of OPTION_KEYS) {
      const spec = optionSpec(key);
      const row = lines.find((l) => l.startsWith(`| \`${key}=\` |`));
      expect(row, key).toBeDefined();
      expect(row).toContain(formatDefault(spec));
      if (spec.flag) expect(row).toContain(spec.flag.name);
      expect(row?.split(/(?<!\\)\|/)).toHaveLength(6); // no unescaped pipe inside a cell
    }
    expect(md).toContain('Range 50..60000 ms');
  });
});
