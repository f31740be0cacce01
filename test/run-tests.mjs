#!/usr/bin/env node
// The README's test command (`npm test`). Runs vitest once with its usual console report plus a
// JSON report, then ends with the plain line CI reads: "N passed, N failed". A file that fails
// to load counts as a failure too, and the exit code is non-zero on any failure.
// Extra arguments go to vitest (e.g. `npm test -- test/unit`).

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Integration tests run the built binary (dist/main.js): build it from the sources under test.
// The native helper is built by `npm ci` (npm run build:native rebuilds it).
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// As `npm run build:ts` does: the tests execute dist/main.js through its #! line.
chmodSync(join(root, 'dist', 'main.js'), 0o755);
const dir = mkdtempSync(join(tmpdir(), 'vrf-resolver-test-'));
const out = join(dir, 'report.json');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // Files that failed to load or crashed in a hook report no failed test; count them.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed')) failed++;
  }
} catch (err) {
  console.error(`could not read the vitest JSON report: ${err.message}`);
  failed++;
}
rmSync(dir, { recursive: true, force: true });
if (run.status !== 0 && failed === 0) failed = 1; // vitest failed without saying which test
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
