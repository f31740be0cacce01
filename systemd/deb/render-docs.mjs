#!/usr/bin/env node
// build.sh's step for the generated documents: renders the man pages vrf-resolver(8) and
// vrf-resolver.conf(5) and the commented example configuration from the program being packaged
// (its compiled command table and config schema, src/cli/render/), and writes them into the
// staging tree. Generated at build time, so the package can never carry a stale page.
//
//   node render-docs.mjs DIST VERSION ROOT      (SOURCE_DATE_EPOCH dates the pages)

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const [dist, version, root] = process.argv.slice(2);
if (!dist || !version || !root) {
  console.error('usage: render-docs.mjs DIST VERSION ROOT');
  process.exit(2);
}
const load = (rel) => import(pathToFileURL(join(dist, rel)).href);
const { renderCommandManPage, renderConfigManPage } = await load('cli/render/man.js');
const { renderExampleConfig } = await load('cli/render/example-conf.js');

const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
const info = { version, date: new Date(epoch * 1000).toISOString().slice(0, 10) };
// gzip -9n: no name, mtime 0 (zlib writes neither), so the bytes depend on the text alone.
const gz = (text) => gzipSync(Buffer.from(text, 'utf8'), { level: 9 });

const man = join(root, 'usr/share/man');
mkdirSync(join(man, 'man8'), { recursive: true });
mkdirSync(join(man, 'man5'), { recursive: true });
writeFileSync(join(man, 'man8/vrf-resolver.8.gz'), gz(renderCommandManPage(info)));
writeFileSync(join(man, 'man5/vrf-resolver.conf.5.gz'), gz(renderConfigManPage(info)));
const example = '/etc/vrf-resolver/vrf-resolver.conf.example';
mkdirSync(join(root, 'etc/vrf-resolver'), { recursive: true });
writeFileSync(join(root, example), renderExampleConfig(example));
