// V8 heap tuning for a long-running cache. A full cache replaces one entry per miss, so dead
// entries reach the old generation at a steady rate (about 2.4 MB/s at 3000 misses/s), and by
// default V8 lets the old generation grow to two or three times the live data before a full
// collection. In the soak (bench/soak.sh: 3000 new names/s, 50,000 entries, about 40 MB live)
// RSS swung between 150 and 232 MiB with V8's defaults. A fixed growing factor of 1.25 keeps
// it at 145-149 MiB, and bench/run.sh shows no more CPU per query for it (hits 7.6 against
// 7.8 µs, misses 83 against 85 µs). --optimize-for-size held 106-113 MiB but cost 18-21% more
// CPU per query, and only works on node's command line (README, "Memory under churn").
//
// Set at run time rather than on node's command line, so that every way of starting the
// resolver (the units, npx, `node dist/main.js`) gets it. V8 reads this flag at every full
// collection (MemoryController::GrowingFactor), so setting it before the cache fills is
// enough. A V8 without the flag prints "unrecognized flag" and carries on with its defaults;
// test/unit/heap.test.ts fails on such a Node so that we notice.

//
// The young generation: V8 doubles a semi-space (up to 16 MB on 64-bit) whenever many objects
// survive a scavenge, and never gives the memory back. Under a burst of misses the in-flight
// queries survive, the young generation grows to 32 MB and stays resident. Keeping its growth
// factor at 1 (the semi-space stays at its start size) took the fill bench (100,000 new names
// at 20,000 q/s) from 112 to 82 MiB after the fill. More scavenges, each of a smaller space: the
// in-process miss pipeline cost the same with it (13.7-14.5 against 13.4-14.6 µs per miss, three
// runs each), and the README's benchmark shows hits and misses with it.
//
// The start size is 1 MB, but only if the flag comes before the program's modules are loaded:
// loading and compiling them already doubles it once. So src/main.ts calls tuneHeap() before
// it imports anything else (run.ts calls it again; setting a flag twice is harmless). With
// 1 MB semi-spaces instead of 2, V8's heap in bench/run.sh's fill test is 2 MB smaller and the
// process peaks 1 to 2 MiB lower (idle: 1.4 MiB lower), with no difference in CPU per hit or
// miss beyond the noise of our shared VM.

import v8 from 'node:v8';

/** Old-generation growth allowed between full collections: the factor is 1 + this / 100. */
export const HEAP_GROWING_PERCENT = 25;

export const HEAP_FLAG = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

/** The young generation does not grow past its start size. */
export const SEMI_SPACE_FLAG = '--semi-space-growth-factor=1';

export function tuneHeap(): void {
  v8.setFlagsFromString(HEAP_FLAG);
  v8.setFlagsFromString(SEMI_SPACE_FLAG);
}
