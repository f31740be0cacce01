import { describe, expect, it } from 'vitest';
import { checkConfigHelp, commandHelp, commandUsage, configHelp, helpText, runHelp, topLevelHelp } from '../../src/cli/help.js';
import { COMMANDS, helpTopics } from '../../src/cli/table.js';
import { OPTION_KEYS, formatBounds, formatDefault, optionSpec } from '../../src/config/schema.js';

const HELP_TOPICS = helpTopics();

describe('help texts', () => {
  it('the top-level help explains the product, the commands, an example and where configs live', () => {
    const t = topLevelHelp();
    expect(t).toMatch(/caching DNS forwarder for Linux VRFs/);
    for (const cmd of ['run', 'check-config', 'help']) expect(t).toContain(`  ${cmd}`);
    expect(t).toContain('vrf-resolver run --vrf mgmt --upstream 192.0.2.53');
    expect(t).toContain('/etc/vrf-resolver/NAME.conf');
    expect(t).toContain('127.0.0.1:53 and [::1]:53'); // from the schema defaults (Listen=, Port=)
    expect(t).toMatch(/--version/);
  });

  it('"help run" lists every flag of the schema with its default', () => {
    const t = runHelp();
    for (const key of OPTION_KEYS) {
      const spec = optionSpec(key);
      if (!spec.flag) continue;
      expect(t, spec.flag.name).toContain(`  ${spec.flag.name}${spec.flag.arg ? ` ${spec.flag.arg}` : ''}`);
      expect(t.replace(/\s+/g, ' '), key).toContain(`file: ${key}=, default: ${formatDefault(spec)}`); // wrapped: compare words
    }
    expect(t).toContain('--config FILE');
    expect(t).toContain('vrf-resolver help config');
  });

  it('"help config" lists every key with its default and bounds', () => {
    const t = configHelp().replace(/\s+/g, ' '); // wrapped text: compare words
    for (const key of OPTION_KEYS) {
      const spec = optionSpec(key);
      const bounds = formatBounds(spec);
      expect(t, key).toContain(`${key}= (default: ${formatDefault(spec)}${bounds ? `; ${bounds}` : ''}`);
    }
    expect(t).toContain('1232 bytes; 512..4096 bytes');
  });

  it('"help check-config" shows the systemd use', () => {
    expect(checkConfigHelp()).toContain('vrf-resolver check-config --instance %i');
  });

  it('has a text for every topic parseArgs accepts, and none for others', () => {
    expect(helpText()).toBe(topLevelHelp());
    for (const topic of HELP_TOPICS) expect(helpText(topic), topic).toBeDefined();
    expect(helpText('nope')).toBeUndefined();
  });

  it('keeps lines within 80 columns for terminals', () => {
    for (const topic of [undefined, ...HELP_TOPICS]) {
      for (const line of (helpText(topic) ?? '').split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });
});

describe('help generated from the command table', () => {
  it('every command has "help COMMAND": its usage lines, arguments, every flag, --help', () => {
    for (const spec of COMMANDS) {
      const t = helpText(spec.name);
      expect(t, spec.name).toBeDefined();
      for (const u of spec.usage) expect(t, spec.name).toContain(u);
      for (const o of spec.operands) expect(t, `${spec.name} ${o.name}`).toMatch(new RegExp(`^  ${o.name} `, 'm'));
      for (const f of spec.flags) expect(t, `${spec.name} ${f.name}`).toContain(`  ${f.name}${f.arg ? ` ${f.arg}` : ''}`);
      if (spec.instance !== 'none') expect(t, spec.name).toContain('  --instance NAME');
      expect(t, spec.name).toContain('  -h, --help');
      expect(t).toBe(commandHelp(spec));
    }
  });

  it('the top-level help lists every command of the table, in its order, with its summary', () => {
    const t = topLevelHelp();
    const at = COMMANDS.map((c) => t.indexOf(`\n  ${commandUsage(c)}`));
    for (const [i, c] of COMMANDS.entries()) expect(at[i], c.name).toBeGreaterThan(0);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const words = t.replace(/\s+/g, ' ');
    for (const c of COMMANDS) expect(words, c.name).toContain(c.summary);
    expect(t).toContain('  ensure-loopback');
    expect(t).toContain('  query [INSTANCE] NAME [TYPE]');
  });

  it('help topics are the commands and config; the ensure-loopback help shows the unit\'s use', () => {
    expect(HELP_TOPICS).toEqual([...COMMANDS.map((c) => c.name).flatMap((n) => (n === 'help' ? ['help', 'config'] : [n]))]);
    expect(helpText('ensure-loopback')).toContain('vrf-resolver ensure-loopback --instance %i');
  });
});
