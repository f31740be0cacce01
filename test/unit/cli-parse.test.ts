// The one parser against the command table: every command, help, the messages of usage errors,
// and how the operator commands read INSTANCE, NAME and TYPE.
import { describe, expect, it } from 'vitest';
import { parse, type ParseResult } from '../../src/cli/parse.js';
import { COMMANDS } from '../../src/cli/table.js';
import type { ParseContext, Parsed } from '../../src/cli/command.js';

const none: ParseContext = { instanceExists: () => false };
const running = (...names: string[]): ParseContext => ({ instanceExists: (n) => names.includes(n) });

function parsed(argv: string[], ctx = none): Parsed {
  const r = parse(argv, ctx);
  if (r.kind !== 'command') throw new Error(`expected a command, got ${JSON.stringify(r)}`);
  return r.parsed;
}
function usageMessage(argv: string[], ctx = none): string {
  const r: ParseResult = parse(argv, ctx);
  if (r.kind !== 'usage-error') throw new Error(`expected a usage error, got ${JSON.stringify(r)}`);
  return r.message;
}

describe('parse: the command table', () => {
  it('knows every command of the table, each with its own spec', () => {
    const minimal: Record<string, string[]> = {
      run: [], 'check-config': ['x.conf'], 'ensure-loopback': [], status: [], statistics: [],
      'flush-caches': [], 'log-level': ['debug'], query: ['example.com'], doctor: [],
      setup: ['mgmt'],
    };
    for (const spec of COMMANDS) {
      if (spec.name === 'help') continue;
      const r = parse([spec.name, ...(minimal[spec.name] ?? [])], none);
      expect(r.kind, spec.name).toBe('command');
      if (r.kind === 'command') expect(r.spec).toBe(spec);
    }
    expect(Object.keys(minimal).length + 1).toBe(COMMANDS.length); // a new command gets a line here
  });

  it('COMMAND --help and -h, and help COMMAND, are the help of that command', () => {
    for (const spec of COMMANDS) {
      expect(parse([spec.name, '--help'], none), spec.name).toEqual({ kind: 'help', topic: spec.name });
      expect(parse([spec.name, '-h'], none), spec.name).toEqual({ kind: 'help', topic: spec.name });
      expect(parse(['help', spec.name], none), spec.name).toEqual({ kind: 'help', topic: spec.name });
    }
    expect(parse(['help', 'config'], none)).toEqual({ kind: 'help', topic: 'config' });
    expect(parse(['status', 'mgmt', '--help'], none)).toEqual({ kind: 'help', topic: 'status' });
  });

  it('an unknown command or topic lists them all and says where to look', () => {
    const all = COMMANDS.map((c) => c.name).join(', ');
    expect(usageMessage(['stauts'])).toBe(`unknown command "stauts"; commands: ${all} (see "vrf-resolver --help")`);
    expect(usageMessage([])).toBe(`no command given; commands: ${all} (try "vrf-resolver --help")`);
    for (const c of ['ensure-loopback', 'status', 'statistics', 'flush-caches', 'log-level', 'query']) {
      expect(usageMessage(['help', 'nope'])).toContain(c);
    }
  });

  it('an unknown flag names it and points at the command\'s help', () => {
    expect(usageMessage(['status', '--jsno'])).toBe('unknown option --jsno for "status"; see "vrf-resolver help status"');
    expect(usageMessage(['query', 'example.com', '--udp'])).toBe('unknown option --udp for "query"; see "vrf-resolver help query"');
    expect(usageMessage(['flush-caches', '--vrf', 'x'])).toMatch(/unknown option --vrf for "flush-caches"/);
    expect(usageMessage(['status', '--control'])).toMatch(/--control needs a value .*vrf-resolver help status/);
    expect(usageMessage(['status', '--json=yes'])).toMatch(/--json takes no value/);
  });

  it('repeated flags: a scalar twice is an error, a repeatable one collects', () => {
    expect(usageMessage(['status', '--control', 'a', '--control', 'b'])).toBe('--control given 2 times; give it once; see "vrf-resolver help status"');
    expect(usageMessage(['run', '--log-level', 'info', '--log-level', 'debug'])).toMatch(/only --listen, --upstream, --forward and --allow-from repeat/);
    expect(parsed(['run', '--upstream', '192.0.2.1', '--upstream', '192.0.2.2']).values['upstream']).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(usageMessage(['status', '--instance', 'a', '--instance', 'b'])).toMatch(/--instance given twice/);
  });
});

describe('parse: naming the instance', () => {
  it('INSTANCE or --instance NAME, one or the other', () => {
    expect(parsed(['status', 'mgmt'])).toMatchObject({ instance: 'mgmt', operands: { INSTANCE: 'mgmt' } });
    expect(parsed(['status', '--instance', 'mgmt'])).toMatchObject({ instance: 'mgmt', operands: {} });
    expect(parsed(['status', '--instance=default'])).toMatchObject({ instance: 'default' });
    expect(parsed(['status']).instance).toBeUndefined();
    expect(usageMessage(['status', '--instance', 'mgmt', 'blue'])).toBe('"status --instance" takes no arguments, got "blue"; see "vrf-resolver help status"');
    expect(usageMessage(['status', 'a', 'b'])).toMatch(/"status" takes one instance, got "a b"/);
  });

  it('--control PATH names the socket; with it INSTANCE is not expected, and --instance is one way too many', () => {
    expect(parsed(['status', '--control', '/run/x.sock'])).toMatchObject({ values: { control: ['/run/x.sock'] }, operands: {} });
    expect(usageMessage(['status', '--control', '/run/x.sock', 'mgmt'])).toMatch(/"status" takes no arguments, got "mgmt"/);
    expect(usageMessage(['status', '--control', '/run/x.sock', '--instance', 'mgmt'])).toMatch(/give INSTANCE \(or --instance NAME\) or --control PATH, not both/);
  });

  it('an instance name must be a VRF name or "default"', () => {
    expect(usageMessage(['status', 'a/b'])).toMatch(/"a\/b" is not a valid interface name.*vrf-resolver help status/);
    expect(usageMessage(['log-level', '--instance', '../etc', 'debug'])).toMatch(/^--instance: .*not a valid interface name/);
    expect(usageMessage(['status', '--instance='])).toMatch(/--instance needs a name/);
  });

  it('run, check-config and ensure-loopback take --instance NAME but no INSTANCE', () => {
    expect(parsed(['ensure-loopback', '--instance', 'mgmt'])).toMatchObject({ instance: 'mgmt' });
    expect(usageMessage(['ensure-loopback', 'mgmt'])).toMatch(/"ensure-loopback" takes no arguments, got "mgmt"; a config file is given with --config FILE/);
    expect(parsed(['check-config', '--instance', 'mgmt', '--config', '/x.conf'])).toMatchObject({ instance: 'mgmt', values: { config: ['/x.conf'] } });
  });
});

describe('parse: operands of the operator commands', () => {
  it('query: two words are NAME TYPE when the second is a record type, else INSTANCE NAME', () => {
    expect(parsed(['query', 'example.com']).operands).toEqual({ NAME: 'example.com' });
    expect(parsed(['query', 'example.com', 'AAAA']).operands).toEqual({ NAME: 'example.com', TYPE: 'AAAA' });
    expect(parsed(['query', 'example.com', 'mx']).operands).toEqual({ NAME: 'example.com', TYPE: 'mx' });
    expect(parsed(['query', 'example.com', 'TYPE65534']).operands).toEqual({ NAME: 'example.com', TYPE: 'TYPE65534' });
    expect(parsed(['query', 'mgmt', 'example.com'])).toMatchObject({ instance: 'mgmt', operands: { INSTANCE: 'mgmt', NAME: 'example.com' } });
    expect(parsed(['query', 'mgmt', 'example.com', 'TXT']).operands).toEqual({ INSTANCE: 'mgmt', NAME: 'example.com', TYPE: 'TXT' });
    // A running instance named like the first word does not change the rule.
    expect(parsed(['query', 'mgmt', 'a'], running('mgmt')).operands).toEqual({ NAME: 'mgmt', TYPE: 'a' });
  });

  it('query: with --instance, two words are NAME TYPE and the second must be a type', () => {
    expect(parsed(['query', '--instance', 'mgmt', 'example.com', 'A']).operands).toEqual({ NAME: 'example.com', TYPE: 'A' });
    expect(usageMessage(['query', '--instance', 'mgmt', 'example.com', 'bogus']))
      .toMatch(/^"bogus" is not a record type \(A, AAAA, MX, TXT, \.\.\., or TYPE65534 for any number\); see "vrf-resolver help query"$/);
    expect(usageMessage(['query', 'mgmt', 'example.com', 'bogus'])).toMatch(/"bogus" is not a record type/);
    expect(parsed(['query', 'x', 'TYPE70000']).operands).toEqual({ INSTANCE: 'x', NAME: 'TYPE70000' }); // too high for a type
    expect(usageMessage(['query', 'a/b', 'example.com']))
      .toMatch(/^cannot read "a\/b example.com" as NAME TYPE \(TYPE: "example.com" is not a record type.*\), or as INSTANCE NAME \(INSTANCE: "a\/b" is not a valid interface name/);
    expect(usageMessage(['query'])).toMatch(/^"query" needs a domain name \(NAME\): vrf-resolver query \[INSTANCE\] NAME/);
    expect(usageMessage(['query', 'a', 'b', 'c', 'd'])).toMatch(/takes at most 3 arguments \(INSTANCE NAME TYPE\)/);
  });

  it('query: a name that cannot be a domain name is refused with the reason', () => {
    expect(usageMessage(['query', 'a..b'])).toMatch(/"a\.\.b" has an empty label/);
    expect(usageMessage(['query', `${'x'.repeat(64)}.com`])).toMatch(/label longer than 63/);
    expect(usageMessage(['query', 'bücher.example'])).toMatch(/xn-- form/);
  });

  it('flush-caches: one word is the INSTANCE when it has a control socket, else the NAME', () => {
    expect(parsed(['flush-caches']).operands).toEqual({});
    expect(parsed(['flush-caches', 'mgmt'], running('mgmt'))).toMatchObject({ instance: 'mgmt', operands: { INSTANCE: 'mgmt' } });
    expect(parsed(['flush-caches', 'example.com'], running('mgmt')).operands).toEqual({ NAME: 'example.com' });
    expect(parsed(['flush-caches', 'mgmt', 'example.com']).operands).toEqual({ INSTANCE: 'mgmt', NAME: 'example.com' });
    expect(parsed(['flush-caches', '--instance', 'mgmt', 'mgmt'], running('mgmt')).operands).toEqual({ NAME: 'mgmt' });
  });

  it('log-level: LEVEL one of the log levels, any case; INSTANCE before it', () => {
    expect(parsed(['log-level', 'debug']).operands).toEqual({ LEVEL: 'debug' });
    expect(parsed(['log-level', 'mgmt', 'WARN']).operands).toEqual({ INSTANCE: 'mgmt', LEVEL: 'WARN' });
    expect(usageMessage(['log-level', 'loud'])).toBe('"loud" is not a log level: use one of fatal, error, warn, info, debug, trace, silent; see "vrf-resolver help log-level"');
    expect(usageMessage(['log-level'])).toMatch(/"log-level" needs a log level \(LEVEL\)/);
  });

  it('statistics --reset and --json are switches', () => {
    expect(parsed(['statistics', 'mgmt', '--reset', '--json']).values).toEqual({ reset: true, json: true });
  });
});
