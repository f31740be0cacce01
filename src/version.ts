// The version of this vrf-resolver, from its package.json (one place: --version, status, metrics).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './native/binding.js';

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
