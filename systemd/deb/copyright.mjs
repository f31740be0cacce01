#!/usr/bin/env node
// build.sh's step for /usr/share/doc/vrf-resolver/copyright: Debian's machine-readable format
// (DEP-5) for vrf-resolver and every runtime dependency shipped in node_modules, each with the
// license its package.json declares and the copyright lines of its own license file. Written
// from the tree being packaged, so a new or updated dependency is described by the next build.
// A license nobody has taught this script about stops the build.
//
//   node copyright.mjs CHECKOUT NODE_MODULES > copyright

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [checkout, modules] = process.argv.slice(2);
if (!checkout || !modules) {
  console.error('usage: copyright.mjs CHECKOUT NODE_MODULES');
  process.exit(2);
}

// SPDX identifiers (package.json) to Debian's names. Apache-2.0 is in /usr/share/common-licenses
// on every Debian system; the others are quoted in full from the first package that carries them.
const DEBIAN_NAME = { MIT: 'Expat', ISC: 'ISC', 'Apache-2.0': 'Apache-2.0', 'BlueOak-1.0.0': 'BlueOak-1.0.0' };
const COMMON = { 'Apache-2.0': '/usr/share/common-licenses/Apache-2.0' };
const EXPAT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

const json = (p) => JSON.parse(readFileSync(p, 'utf8'));
// A copyright line: "Copyright (c) 2016 A", "Copyright 2011 by B", "(c) 2020 C", "Copyright (c) D";
// not the license's own sentences that start with the word ("copyright notice and this ...").
const HOLDER = /^\s*(copyright\s*(\(c\)|©)|copyright\s+\d|(\(c\)|©)\s*\d)/i;
const licenseFile = (dir) => readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));

/** Every package directory under node_modules (scoped ones included), sorted. */
function packages(root) {
  const out = [];
  for (const name of readdirSync(root).sort()) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) for (const sub of readdirSync(join(root, name)).sort()) out.push(`${name}/${sub}`);
    else out.push(name);
  }
  return out.filter((n) => existsSync(join(root, n, 'package.json')));
}

/** "Copyright (c) 2016 Matteo Collina" lines of a license file, without the word "Copyright". */
function copyrightLines(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => HOLDER.test(l))
    .map((l) => l.replace(/^copyright\s*/i, '').replace(/^(\(c\)|©)\s*/i, '').trim())
    .filter(Boolean);
}

/** The text of a license file without its title and copyright lines, for a License: paragraph. */
function licenseBody(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  const body = lines.filter((l) => !HOLDER.test(l));
  while (body.length && (body[0].trim() === '' || /^#*\s*(the\s+)?[\w.\- ]*licen[cs]e(\s*\(\w+\))?\s*$/i.test(body[0].trim()))) body.shift();
  return body.join('\n').trim();
}

const field = (name, values) => `${name}: ${values[0]}${values.slice(1).map((v) => `\n ${v}`).join('')}`;
const indent = (text) => text.split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)).join('\n');

const own = json(join(checkout, 'package.json'));
const ownLicense = DEBIAN_NAME[own.license];
if (!ownLicense) throw new Error(`package.json: license ${own.license} is not known to copyright.mjs`);
const ownFile = licenseFile(checkout);
const ownCopyright = ownFile ? copyrightLines(readFileSync(join(checkout, ownFile), 'utf8')) : [];

const paragraphs = [
  [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${own.name}`,
    ownFile
      ? `Comment: The license of vrf-resolver is that of its ${ownFile}.`
      : `Comment: vrf-resolver's package.json declares the license "${own.license}"; the repository has no\n LICENSE file and its package.json names no author, so the copyright holder is given as\n the project's maintainers. The runtime dependencies in\n /usr/lib/vrf-resolver/node_modules are listed below with their own licenses.`,
  ].join('\n'),
  [
    'Files: *',
    field('Copyright', ownCopyright.length ? ownCopyright : ['vrf-resolver maintainers']),
    `License: ${ownLicense}`,
  ].join('\n'),
];

const used = new Map([[ownLicense, own.license]]);
const texts = new Map(); // Debian name -> body quoted from a package's license file
for (const name of packages(modules)) {
  const dir = join(modules, name);
  const pkg = json(join(dir, 'package.json'));
  const spdx = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type;
  const deb = DEBIAN_NAME[spdx];
  if (!deb) throw new Error(`${name}@${pkg.version}: license ${JSON.stringify(pkg.license)} is not known to copyright.mjs: add it`);
  used.set(deb, spdx);
  const file = licenseFile(dir);
  const text = file ? readFileSync(join(dir, file), 'utf8') : '';
  let holders = copyrightLines(text);
  if (holders.length === 0) {
    const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
    holders = [author ? `${author} (package.json; the license file names no holder)` : `the ${name} authors (no holder named)`];
  }
  if (!texts.has(deb) && text && !COMMON[spdx]) texts.set(deb, licenseBody(text));
  paragraphs.push([`Files: usr/lib/vrf-resolver/node_modules/${name}/*`, field('Copyright', holders), `License: ${deb}`, `Comment: ${name} ${pkg.version}`].join('\n'));
}

for (const [deb, spdx] of [...used].sort(([a], [b]) => a.localeCompare(b))) {
  if (COMMON[spdx]) {
    paragraphs.push(`License: ${deb}\n On Debian systems, the complete text of the ${spdx} license can be found in\n ${COMMON[spdx]}.`);
  } else {
    const body = deb === 'Expat' ? EXPAT : texts.get(deb);
    if (!body) throw new Error(`no text for license ${deb}`);
    paragraphs.push(`License: ${deb}\n${indent(body)}`);
  }
}
process.stdout.write(paragraphs.join('\n\n') + '\n');
