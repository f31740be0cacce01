// The command reference of README.md ("Commands"), generated from the command table; a unit
// test (test/unit/docs.test.ts) keeps the README's copy in step.

import { COMMANDS } from './table.js';

export function renderCommandReference(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = COMMANDS.map((c) => `| ${c.usage.map((u) => `\`${cell(u)}\``).join('<br>')} | ${cell(c.summary)} |`);
  return ['| Command | What it does |', '| --- | --- |', ...rows].join('\n') + '\n';
}
