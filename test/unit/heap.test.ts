// src/heap.ts sets a V8 flag at run time. A Node whose V8 lost the flag only prints
// "unrecognized flag" and keeps its defaults, and the soak's flat memory would be gone without
// a sound: this test is the sound.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_FLAG, HEAP_GROWING_PERCENT, SEMI_SPACE_FLAG } from '../../src/heap.js';

describe('heap tuning (src/heap.ts)', () => {
  it.each([HEAP_FLAG, SEMI_SPACE_FLAG])('this Node accepts %s at run time, without a word on stderr', (flag) => {
    expect(HEAP_FLAG).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    const r = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flag)}); console.log('set')`], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('set');
    expect(r.stderr).toBe('');
  });

  it('a flag V8 does not know is reported on stderr (what the test above would see)', () => {
    const r = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString('--heap-growing-percentage-xyz=25')`], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/unrecognized flag/);
  });
});
