// The README is part of the interface: every error code and the configuration reference must
// match the code (fastify's "every code is documented" test).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../src/errors.js';
import { renderConfigReference } from '../../src/config/schema.js';
import { renderCommandReference } from '../../src/cli/reference.js';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it('documents every error code', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(readme, code).toContain(`| \`${code}\` |`);
  });
  it('carries the configuration reference exactly as the schema renders it', () => {
    expect(readme).toContain(renderConfigReference().trim());
  });
  it('carries the command reference exactly as the command table renders it, before the configuration file', () => {
    const table = renderCommandReference().trim();
    expect(readme).toContain(`### Commands\n`);
    expect(readme).toContain(table);
    expect(readme.indexOf(table)).toBeLessThan(readme.indexOf('### Configuration file'));
    expect(readme.indexOf('### Commands')).toBeLessThan(readme.indexOf(table));
  });
  it('shows the two commands: set up and run, and test', () => {
    expect(readme).toMatch(/npm ci && npx vrf-resolver run/);
    expect(readme).toMatch(/^npm test$/m);
  });
});
