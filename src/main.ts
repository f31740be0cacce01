#!/usr/bin/env node
// The `vrf-resolver` command: the command line is parsed once against the command table
// (cli/table.ts, one module per command in cli/commands/) and the command runs; its exit code
// is the process's.
// Exit codes: 0 fine, 1 runtime failure (a listener could not open, an instance answered with
// an error...), 2 usage error, 3 no such instance running (the commands that talk to one),
// 78 invalid configuration (EX_CONFIG from sysexits.h; the unit does not restart on it).

import { EXIT, type CommandEnv } from './cli/command.js';
import { helpText } from './cli/help.js';
import { parse } from './cli/parse.js';
import { CONTROL_DIR } from './config/schema.js';
import { packageVersion } from './version.js';
import { CONFIG_DIR } from './systemd/instance.js';

const env: CommandEnv = {
  controlDir: CONTROL_DIR,
  configDir: CONFIG_DIR,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

async function main(argv: readonly string[]): Promise<number> {
  const r = parse(argv);
  switch (r.kind) {
    case 'usage-error':
      process.stderr.write(`vrf-resolver: ${r.message}\n`);
      return EXIT.USAGE;
    case 'help':
      process.stdout.write(helpText(r.topic) ?? '');
      return EXIT.OK;
    case 'version':
      process.stdout.write(`vrf-resolver ${packageVersion()}\n`);
      return EXIT.OK;
    case 'command':
      return r.spec.run(r.parsed, env);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vrf-resolver: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
