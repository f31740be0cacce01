// levelGate (src/log.ts): the query log line's check, a field kept true by pino's
// 'level-change' event. It must follow every change of the logger's level, and a logger must
// get one gate (and one listener) however many pipelines ask.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, levelGate } from '../../src/log.js';

const sink = () => new Writable({ write: (_c, _e, done) => done() });

describe('levelGate', () => {
  it('follows the level as it changes, and is one gate per logger', () => {
    const log = createLogger('info', null, sink());
    const gate = levelGate(log);
    expect(gate.debug).toBe(false);
    log.level = 'debug';
    expect(gate.debug).toBe(true);
    log.level = 'trace';
    expect(gate.debug).toBe(true);
    log.level = 'warn';
    expect(gate.debug).toBe(false);
    expect(levelGate(log)).toBe(gate);
    expect(log.listenerCount('level-change')).toBe(1);
    const other = createLogger('debug', 'mgmt', sink());
    expect(levelGate(other).debug).toBe(true);
    expect(gate.debug).toBe(false);
  });
});
