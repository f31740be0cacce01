#!/usr/bin/env node
// The `vrf-resolver` command. This module only sets V8's heap flags, then loads the program
// (cli/main.ts: the command table, parsing, the commands). The flags must come before the
// program's modules are loaded, not merely before they run: an import declaration is loaded,
// parsed and compiled with the whole module graph before the first line of any module runs,
// and that start-up work already makes V8 double the young generation's semi-spaces (1 to 2
// MB) once. heap.ts's --semi-space-growth-factor=1 then only kept them at 2 MB; set first, they
// stay at 1 MB: 2 MB less young generation, and 1 MB less in the old generation's limit (V8
// adds the new space's capacity to it). Every command gets the flags; only `run` lives long
// enough to care. So: heap.js (which imports only node:v8) is the one static import here.

import { tuneHeap } from './heap.js';

tuneHeap();
await import('./cli/main.js');
