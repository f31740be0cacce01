// The operator commands when no instance runs: exit 3, the running instances (none), and how to
// start one. The control directory is an empty temp dir, so no real instance is ever reached.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from '../../src/cli/parse.js';
import type { CommandEnv } from '../../src/cli/command.js';

const dir = mkdtempSync(join(tmpdir(), 'vr-ctl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[], controlDir = dir): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const env: CommandEnv = { controlDir, configDir: dir, stdout: (t) => (out += t), stderr: (t) => (err += t) };
  const r = parse(argv, { instanceExists: () => false });
  if (r.kind !== 'command') throw new Error(`expected a command, got ${JSON.stringify(r)}`);
  return { code: await r.spec.run(r.parsed, env), out, err };
}

describe('no instance running: exit 3, and how to start one', () => {
  it('with none named, for every operator command', async () => {
    for (const argv of [['status'], ['statistics'], ['statistics', '--reset'], ['flush-caches'], ['log-level', 'debug'], ['query', 'example.com'], ['status', '--json']]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(3);
      expect(r.out, argv.join(' ')).toBe('');
      expect(r.err).toBe(
        `vrf-resolver: no vrf-resolver instance is running (no control socket answers in ${dir}).\n` +
        'Start one: systemctl start vrf-resolver@NAME (NAME: the VRF, or "default")\n' +
        '       or: vrf-resolver run --vrf NAME --upstream ADDR\n',
      );
    }
  });

  it('when the control directory does not exist at all', async () => {
    const r = await cli(['status'], join(dir, 'absent'));
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/no vrf-resolver instance is running/);
  });

  it('a named instance that is not running: what runs instead, and how to start this one', async () => {
    const r = await cli(['flush-caches', 'mgmt', 'example.com']);
    expect(r.code).toBe(3);
    expect(r.err).toBe(
      `vrf-resolver: instance "mgmt" is not running: nothing answers at ${join(dir, 'mgmt.sock')}.\n` +
      'Running instances: none.\n' +
      'Start it: systemctl start vrf-resolver@mgmt\n' +
      '      or: vrf-resolver run --vrf mgmt --upstream ADDR\n',
    );
    const d = await cli(['status', '--instance', 'default']);
    expect(d.code).toBe(3);
    expect(d.err).toMatch(/Start it: systemctl start vrf-resolver@default\n +or: vrf-resolver run --upstream ADDR\n$/);
  });

  it('--control PATH with nothing there', async () => {
    const path = join(dir, 'x.sock');
    const r = await cli(['log-level', '--control', path, 'debug']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(new RegExp(`^vrf-resolver: no instance is running at ${path}\\.\\nRunning instances \\(in ${dir}\\): none\\.\\n`));
    expect(r.err).toContain(`vrf-resolver run --vrf NAME --upstream ADDR --control ${path}`);
    expect((await cli(['query', '--control', path, 'example.com', 'AAAA'])).code).toBe(3);
  });

  it('socket files nobody answers on are named as left by stopped instances', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'vr-ctl-stale-'));
    try {
      writeFileSync(join(stale, 'blue.sock'), ''); // not a socket: connecting is refused, as to a dead instance's
      const r = await cli(['status'], stale);
      expect(r.code).toBe(3);
      expect(r.err).toContain(`blue.sock in ${stale}: left by stopped instances, nothing answers there.`);
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });
});

describe('dist/main.js status --control against nothing', () => {
  it('exits 3 and says so (the built command, as installed)', () => {
    const path = join(dir, 'nothing.sock');
    const main = join(__dirname, '..', '..', 'dist', 'main.js');
    const r = spawnSync(process.execPath, [main, 'status', '--control', path], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^vrf-resolver: no instance is running at ${path}\\.\\n`));
    expect(r.stderr).toContain('systemctl start vrf-resolver@NAME');
  });
});
