// Prometheus' own promtool, for checking our /metrics output: fetched once into .cache/promtool/
// by test/tools/promtool.sh (CI runs it before `npm test`; a test's beforeAll runs it too).

import { execFileSync } from 'node:child_process';
import { run } from './exec.js';
import { REPO_ROOT } from './process.js';

/** How long fetching promtool may take (apt-get update and a 20 MB download on a slow mirror). */
export const PROMTOOL_FETCH_MS = 290_000;

/** The path of promtool, fetched first if needed; throws with the script's reason otherwise. */
export function ensurePromtool(): string {
  return execFileSync('bash', [`${REPO_ROOT}test/tools/promtool.sh`], { encoding: 'utf8', timeout: PROMTOOL_FETCH_MS }).trim();
}

/** `promtool check metrics` on stdin: its exit code (0 clean, 1 unparsable, 3 lint problems) and all it said. */
export async function promtoolCheck(promtool: string, text: string): Promise<{ code: number | null; output: string }> {
  const r = await run(promtool, ['check', 'metrics'], { input: text, timeoutMs: 20_000 });
  return { code: r.code, output: (r.stdout + r.stderr).trim() };
}
