import { describe, expect, it } from 'vitest';
import { FrameDecoder, frame } from '../../src/net/framing.js';

describe('TCP framing (RFC 1035 4.2.2, RFC 7766 8)', () => {
  it('reads messages split across chunks and several in one chunk', () => {
    const d = new FrameDecoder(1000);
    const all = Buffer.concat([frame(Buffer.from('hello')), frame(Buffer.from('dns!')), frame(Buffer.alloc(0))]);
    for (const b of all) d.push(Buffer.from([b]));
    expect(d.next()?.toString()).toBe('hello');
    expect(d.next()?.toString()).toBe('dns!');
    expect(d.next()?.length).toBe(0);
    expect(d.next()).toBeNull();
    d.push(all);
    expect(d.next()?.toString()).toBe('hello');
    expect(d.pending).toBe(all.length - 7);
  });

  it('needs both length octets and the whole message before returning it', () => {
    const d = new FrameDecoder(1000);
    d.push(Buffer.from([0]));
    expect(d.next()).toBeNull();
    d.push(Buffer.from([3, 1, 2]));
    expect(d.next()).toBeNull();
    d.push(Buffer.from([3]));
    expect([...(d.next() as Buffer)]).toEqual([1, 2, 3]);
  });

  it('reports a length prefix over the cap without waiting for the data', () => {
    const d = new FrameDecoder(512);
    d.push(Buffer.from([0xff, 0xff]));
    expect(d.next()).toBe('too-large');
  });
});
