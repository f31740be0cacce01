// The command line, parsed once against the command table (table.ts, one module per command in
// commands/), and the command run; its exit code is the process's. Loaded by src/main.ts once
// the V8 heap flags are set (src/main.ts says why it is a module of its own).
// Exit codes: 0 fine, 1 runtime failure (a listener could not open, an instance answered with
// an error...), 2 usage error, 3 no such instance running (the commands that talk to one),
// 78 invalid configuration (EX_CONFIG from sysexits.h; the unit does not restart on it).

import { EXIT, type CommandEnv } from './command.js';
import { helpText } from './help.js';
import { parse } from './parse.js';
import { CONTROL_DIR } from '../config/schema.js';
import { packageVersion } from '../version.js';
import { CONFIG_DIR } from '../systemd/instance.js';

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
