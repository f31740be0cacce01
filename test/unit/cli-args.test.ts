import { describe, expect, it } from 'vitest';
import { parse } from '../../src/cli/parse.js';
import { cliFlags, configFile } from '../../src/cli/run-flags.js';
import type { CliFlags } from '../../src/config/load.js';
import { OPTION_KEYS, optionSpec } from '../../src/config/schema.js';

// The command table's parser (src/cli/parse.ts), seen as the old cli/args.ts parseArgs saw it,
// so these expectations stay as they were written.
type Command =
  | { readonly kind: 'run'; readonly configFile?: string; readonly flags: CliFlags }
  | { readonly kind: 'check-config'; readonly configFile: string; readonly flags: CliFlags }
  | { readonly kind: 'help'; readonly topic?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | { readonly kind: 'other'; readonly command: string };

const noSockets = { instanceExists: () => false };

function parseArgs(argv: string[]): Command {
  const r = parse(argv, noSockets);
  if (r.kind !== 'command') return r;
  const file = configFile(r.parsed);
  if (r.spec.name === 'run') return { kind: 'run', ...(file !== undefined && { configFile: file }), flags: cliFlags(r.parsed) };
  if (r.spec.name === 'check-config') return { kind: 'check-config', configFile: r.parsed.operands['FILE'] ?? '', flags: cliFlags(r.parsed) };
  return { kind: 'other', command: r.spec.name };
}

const usageMessage = (argv: string[]): string => {
  const c = parseArgs(argv);
  if (c.kind !== 'usage-error') throw new Error(`expected a usage error, got ${JSON.stringify(c)}`);
  return c.message;
};

describe('parseArgs: commands', () => {
  it('global --help/-h and --version/-V', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseArgs(['-V'])).toEqual({ kind: 'version' });
  });

  it('help [COMMAND]', () => {
    expect(parseArgs(['help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['help', 'run'])).toEqual({ kind: 'help', topic: 'run' });
    expect(parseArgs(['help', 'check-config'])).toEqual({ kind: 'help', topic: 'check-config' });
    expect(parseArgs(['help', 'config'])).toEqual({ kind: 'help', topic: 'config' });
    expect(usageMessage(['help', 'frobnicate'])).toMatch(/no help for "frobnicate"; topics: run, check-config, help, config/);
    expect(usageMessage(['help', 'run', 'x'])).toMatch(/one topic/);
  });

  it('<command> --help is the help for that command', () => {
    expect(parseArgs(['run', '--help'])).toEqual({ kind: 'help', topic: 'run' });
    expect(parseArgs(['check-config', '-h'])).toEqual({ kind: 'help', topic: 'check-config' });
  });

  it('no command, an unknown command, or a flag before the command is a usage error', () => {
    expect(usageMessage([])).toMatch(/no command given/);
    expect(usageMessage(['start'])).toMatch(/unknown command "start"; commands: run, check-config, help/);
    expect(usageMessage(['--vrf', 'mgmt'])).toMatch(/unknown option --vrf; flags go after the command/);
  });
});

describe('parseArgs: run', () => {
  it('takes every flag, as --flag value and --flag=value', () => {
    const c = parseArgs(['run', '--vrf', 'mgmt', '--listen=127.0.0.1', '--listen', '[::1]:5353', '--port=5300',
      '--upstream', '192.0.2.53', '--upstream=198.51.100.1:5353', '--upstream-device', 'blue', '--resolv-conf=/run/r.conf',
      '--config', '/etc/vrf-resolver/mgmt.conf', '--no-cache', '--log-level=debug']);
    expect(c).toEqual({
      kind: 'run', configFile: '/etc/vrf-resolver/mgmt.conf',
      flags: {
        vrf: 'mgmt', listen: ['127.0.0.1', '[::1]:5353'], port: '5300', upstream: ['192.0.2.53', '198.51.100.1:5353'],
        upstreamDevice: 'blue', resolvConf: '/run/r.conf', noCache: true, logLevel: 'debug',
      },
    } satisfies Command);
  });

  it('run with no flags', () => {
    expect(parseArgs(['run'])).toEqual({ kind: 'run', flags: {} });
  });

  it('accepts the flag of every schema option', () => {
    for (const key of OPTION_KEYS) {
      const flag = optionSpec(key).flag;
      if (!flag) continue;
      const argv = flag.arg ? ['run', flag.name, 'x'] : ['run', flag.name];
      expect(parseArgs(argv).kind, flag.name).toBe('run');
    }
  });

  it('unknown flags name the flag and point at "help run"', () => {
    expect(usageMessage(['run', '--upstreams', '192.0.2.1'])).toBe('unknown option --upstreams for "run"; see "vrf-resolver help run"');
    expect(usageMessage(['run', '-x'])).toMatch(/unknown option -x .*vrf-resolver help run/);
  });

  it('missing values, values for switches, repeated scalars and stray arguments', () => {
    expect(usageMessage(['run', '--vrf'])).toMatch(/--vrf needs a value/);
    expect(usageMessage(['run', '--vrf', '--no-cache'])).toMatch(/--vrf needs a value/);
    expect(usageMessage(['run', '--no-cache=yes'])).toMatch(/--no-cache takes no value/);
    expect(usageMessage(['run', '--vrf', 'a', '--vrf=b'])).toMatch(/--vrf given 2 times/);
    expect(usageMessage(['run', 'mgmt.conf'])).toMatch(/"run" takes no arguments.*--config FILE/);
  });
});

describe('parseArgs: check-config', () => {
  it('takes FILE and --vrf (the systemd instance)', () => {
    expect(parseArgs(['check-config', '/etc/vrf-resolver/mgmt.conf', '--vrf', 'mgmt'])).toEqual({
      kind: 'check-config', configFile: '/etc/vrf-resolver/mgmt.conf', flags: { vrf: 'mgmt' },
    });
    expect(parseArgs(['check-config', '--vrf=mgmt', 'x.conf'])).toEqual({ kind: 'check-config', configFile: 'x.conf', flags: { vrf: 'mgmt' } });
  });

  it('needs exactly one FILE and no --config', () => {
    expect(usageMessage(['check-config'])).toMatch(/needs a file/);
    expect(usageMessage(['check-config', 'a', 'b'])).toMatch(/one file/);
    expect(usageMessage(['check-config', '--config', 'a'])).toMatch(/takes the file as its argument/);
    expect(usageMessage(['check-config', 'a', '--bogus'])).toMatch(/unknown option --bogus for "check-config"; see "vrf-resolver help check-config"/);
  });
});
