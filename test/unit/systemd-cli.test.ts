// The command lines of the units (--instance, ensure-loopback), the journal log format, the
// loopback-address step and the new config keys.
import { fstatSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from '../../src/cli/parse.js';
import { cliFlags, configFile } from '../../src/cli/run-flags.js';
import { loadOptionsFor, type InstanceLoad } from '../../src/systemd/instance.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { toJournalLine, stdioIsJournal } from '../../src/log.js';
import { addressesOf, ensureLoopback, neededLoopback, type IpRunner } from '../../src/systemd/loopback.js';
import { testConfig } from '../helpers/instance.js';

const dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-sd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// What the units' command lines load: the command table's parser, then the instance's meaning
// (systemd/instance.ts), with `dir` for /etc/vrf-resolver.
type UnitCommand = ({ kind: string } & InstanceLoad) | { kind: 'usage-error'; message: string };
function unitCommand(argv: string[], configDir: string): UnitCommand {
  const r = parse(argv, { instanceExists: () => false });
  if (r.kind === 'usage-error') return r;
  if (r.kind !== 'command') throw new Error(`expected a command, got ${r.kind}`);
  const p = r.parsed;
  return { kind: r.spec.name, ...loadOptionsFor({ instance: p.instance, configFile: configFile(p) ?? p.operands['FILE'], flags: cliFlags(p) }, configDir) };
}

describe('--instance NAME (the units\' command lines)', () => {
  it('without --instance, loads only what the command line names; ensure-loopback takes the flags of run', () => {
    expect(unitCommand(['run', '--vrf', 'mgmt'], dir)).toEqual({ kind: 'run', label: 'command line', load: { dropInDir: 'auto', flags: { vrf: 'mgmt' } } });
    expect(unitCommand(['check-config', 'x.conf'], dir)).toEqual({ kind: 'check-config', label: 'x.conf', load: { file: 'x.conf', dropInDir: 'auto', flags: {} } });
    expect(parse(['help'])).toEqual({ kind: 'help' });
    expect(unitCommand(['ensure-loopback', '--vrf', 'mgmt'], dir)).toMatchObject({ kind: 'ensure-loopback', load: { flags: { vrf: 'mgmt' } } });
  });

  it('reads NAME.conf (optional) and its drop-ins, NAME being the VRF', () => {
    const cmd = unitCommand(['run', '--instance', 'mgmt'], dir);
    expect(cmd).toEqual({
      kind: 'run', label: `${dir}/mgmt.conf`,
      load: { file: `${dir}/mgmt.conf`, fileOptional: true, dropInDir: 'auto', flags: {}, instance: 'mgmt' },
    });
    expect(unitCommand(['check-config', '--instance=default'], dir)).toMatchObject({ kind: 'check-config', load: { instance: 'default' } });
  });

  it('an instance with only a drop-in works; without any upstream it names the file to write', () => {
    mkdirSync(join(dir, 'blue.conf.d'));
    writeFileSync(join(dir, 'blue.conf.d', '50-dhcp.conf'), '[Resolve]\nDNS=192.0.2.53\n');
    const cmd = unitCommand(['run', '--instance', 'blue'], dir);
    if (cmd.kind === 'usage-error') throw new Error('expected a command');
    const c = loadConfig(cmd.load);
    expect(c.vrf).toBe('blue');
    expect(c.upstream.servers).toEqual([{ family: 4, address: '192.0.2.53', port: 53 }]);

    const none = unitCommand(['run', '--instance', 'red'], dir);
    if (none.kind === 'usage-error') throw new Error('expected a command');
    try {
      loadConfig(none.load);
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toEqual([{ path: `${dir}/red.conf`, message: expect.stringMatching(/no upstream servers/) }]);
    }
  });

  it('the default instance is the default VRF; VRF= in the file wins over the name', () => {
    writeFileSync(join(dir, 'default.conf'), '[Resolve]\nDNS=192.0.2.1\n');
    writeFileSync(join(dir, 'other.conf'), '[Resolve]\nVRF=green\nDNS=192.0.2.1\n');
    const load = (name: string) => {
      const cmd = unitCommand(['run', '--instance', name], dir);
      if (cmd.kind === 'usage-error') throw new Error('expected a command');
      return loadConfig(cmd.load);
    };
    expect(load('default').vrf).toBeNull();
    expect(load('other').vrf).toBe('green');
  });

  it('an explicit --config must exist', () => {
    const cmd = unitCommand(['run', '--instance', 'mgmt', '--config', join(dir, 'nope.conf')], dir);
    expect(cmd).toMatchObject({ load: { file: join(dir, 'nope.conf'), fileOptional: false } });
  });

  it('usage errors: no value, twice, a bad name, a stray argument', () => {
    expect(unitCommand(['run', '--instance'], dir)).toMatchObject({ kind: 'usage-error', message: expect.stringMatching(/--instance needs a value/) });
    expect(unitCommand(['run', '--instance', 'a', '--instance=b'], dir)).toMatchObject({ message: expect.stringMatching(/given twice/) });
    expect(unitCommand(['run', '--instance', 'a/b'], dir)).toMatchObject({ message: expect.stringMatching(/not a valid interface name/) });
    expect(unitCommand(['check-config', '--instance', 'a', 'x.conf'], dir))
      .toMatchObject({ message: expect.stringMatching(/"check-config --instance" takes no arguments/) });
    expect(unitCommand(['run', '--instance', 'a', '--bogus'], dir)).toMatchObject({ message: expect.stringMatching(/unknown option --bogus/) });
  });
});

describe('config keys LogFormat= and AddLoopbackAddresses=', () => {
  it('are absent when unset (auto, yes), set when given, and checked', () => {
    const f = join(dir, 'keys.conf');
    writeFileSync(f, '[Resolve]\nDNS=192.0.2.1\n');
    const c = loadConfig({ file: f, flags: {} });
    expect(c.logFormat).toBeUndefined();
    expect(c.addLoopbackAddresses).toBeUndefined();
    writeFileSync(f, '[Resolve]\nDNS=192.0.2.1\nLogFormat=journal\nAddLoopbackAddresses=no\n');
    expect(loadConfig({ file: f, flags: {} })).toMatchObject({ logFormat: 'journal', addLoopbackAddresses: false });
    writeFileSync(f, '[Resolve]\nDNS=192.0.2.1\nLogFormat=auto\n');
    expect(loadConfig({ file: f, flags: {} }).logFormat).toBeUndefined();
    writeFileSync(f, '[Resolve]\nDNS=192.0.2.1\nLogFormat=syslog\n');
    expect(() => loadConfig({ file: f, flags: {} })).toThrow(/LogFormat: expected one of auto, json, journal, got "syslog"/);
  });
});

describe('journal log format', () => {
  it('prefixes the syslog priority so journalctl -p filters, message first, one line', () => {
    expect(toJournalLine('{"level":"warn","vrf":"mgmt","code":"VR_ERR_UPSTREAM_TIMEOUT","upstream":"192.0.2.53:53","msg":"upstream failed"}'))
      .toBe('<4>upstream failed vrf=mgmt code=VR_ERR_UPSTREAM_TIMEOUT upstream=192.0.2.53:53\n');
    expect(toJournalLine('{"level":"info","vrf":"default","listeners":["udp 127.0.0.1:53"],"n":3,"msg":"ready"}'))
      .toBe('<6>ready vrf=default listeners=["udp 127.0.0.1:53"] n=3\n');
    expect(toJournalLine('{"level":"error","msg":"a\\nb","err":"x y"}')).toBe('<3>a | b err="x y"\n');
    expect(toJournalLine('{"level":"fatal","msg":"cannot start"}')).toBe('<2>cannot start\n');
    expect(toJournalLine('{"level":"debug","msg":"query"}')).toBe('<7>query\n');
  });

  it('auto: journal only when JOURNAL_STREAM names our stdout or stderr', () => {
    expect(stdioIsJournal({})).toBe(false);
    expect(stdioIsJournal({ JOURNAL_STREAM: '1:2' })).toBe(false);
    expect(stdioIsJournal({ JOURNAL_STREAM: 'garbage' })).toBe(false);
    const st = fstatSync(2, { bigint: true });
    expect(stdioIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` })).toBe(true);
  });
});

describe('loopback addresses on the VRF device', () => {
  const ep = (address: string, port = 53) => ({ family: (address.includes(':') ? 6 : 4) as 4 | 6, address, port });
  const cfg = (vrf: string | null, listen = [ep('127.0.0.1'), ep('::1')], add?: boolean) =>
    ({ ...testConfig({ listen, upstreams: [ep('192.0.2.1')] }), vrf, ...(add !== undefined && { addLoopbackAddresses: add }) });

  it('are needed for loopback listeners in a VRF only, unless turned off', () => {
    expect(neededLoopback(cfg('mgmt'))).toEqual({ device: 'mgmt', addresses: [expect.objectContaining({ cidr: '127.0.0.1/8' }), expect.objectContaining({ cidr: '::1/128' })] });
    expect(neededLoopback(cfg('mgmt', [ep('127.0.0.53')]))?.addresses.map((a) => a.cidr)).toEqual(['127.0.0.1/8']);
    expect(neededLoopback(cfg('mgmt', [ep('10.0.0.1')]))).toBeNull();
    expect(neededLoopback(cfg(null))).toBeNull();
    expect(neededLoopback(cfg('mgmt', undefined, false))).toBeNull();
  });

  it('adds only the missing ones, ::1 without DAD, and reports ip\'s error', async () => {
    const calls: string[][] = [];
    const ip = (shown: string, fail = false): IpRunner => async (args) => {
      calls.push([...args]);
      if (args[0] === '-j') return { code: 0, stdout: shown, stderr: '' };
      return fail ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted\n' } : { code: 0, stdout: '', stderr: '' };
    };
    const wanted = neededLoopback(cfg('mgmt'))!.addresses;
    const shown = JSON.stringify([{ ifname: 'mgmt', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 16 }] }]);
    expect(await ensureLoopback('mgmt', wanted, ip(shown))).toEqual({ added: ['::1/128'], present: ['127.0.0.1/8'] });
    expect(calls).toEqual([['-j', 'addr', 'show', 'dev', 'mgmt'], ['-6', 'addr', 'add', '::1/128', 'dev', 'mgmt', 'nodad']]);
    await expect(ensureLoopback('mgmt', wanted, ip('[]', true))).rejects.toThrow('ip addr add 127.0.0.1/8 dev mgmt: RTNETLINK answers: Operation not permitted');
    const missing: IpRunner = async () => ({ code: 1, stdout: '', stderr: 'Device "mgmt" does not exist.\n' });
    await expect(ensureLoopback('mgmt', wanted, missing)).rejects.toThrow('ip addr show dev mgmt: Device "mgmt" does not exist.');
  });

  it('reads the addresses from ip -j', () => {
    expect(addressesOf('[{"addr_info":[{"local":"127.0.0.1"},{"local":"::1"}]},{}]')).toEqual(['127.0.0.1', '::1']);
  });
});
