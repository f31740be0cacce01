#!/usr/bin/env node
// Top self-time functions of a V8 .cpuprofile (node --cpu-prof), as a Markdown table.
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [N=10] [ROOT to shorten paths]
import { readFileSync } from 'node:fs';

const [file, nArg = '10', root = ''] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: cpuprofile-top.mjs FILE.cpuprofile [N] [ROOT]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
let total = 0;
let idle = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  if (byId.get(prof.samples[i]).callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + dt);
  total += dt;
}
// Aggregate nodes by function (name + location); a function appears once per call path.
const agg = new Map();
for (const [id, us] of selfUs) {
  const cf = byId.get(id).callFrame;
  let url = cf.url.replace(/^file:\/\//, '');
  if (root && url.startsWith(root + '/')) url = url.slice(root.length + 1);
  url = url.replace(/^.*node_modules\//, '');
  const where = url ? `${url}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'}\t${where}`;
  agg.set(key, (agg.get(key) ?? 0) + us);
}
const rows = [...agg].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg));
const out = ['| # | self % | self ms | function | where |', '| ---: | ---: | ---: | --- | --- |'];
rows.forEach(([key, us], i) => {
  const [fn, where] = key.split('\t');
  out.push(`| ${i + 1} | ${((100 * us) / total).toFixed(1)} | ${(us / 1000).toFixed(0)} | \`${fn}\` | ${where} |`);
});
out.push('', `busy (non-idle) time sampled: ${(total / 1e6).toFixed(1)} s; idle ${(idle / 1e6).toFixed(1)} s; self % is of busy time`);
process.stdout.write(out.join('\n') + '\n');
