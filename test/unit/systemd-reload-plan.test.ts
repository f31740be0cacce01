// What a SIGHUP reload keeps and what it rebuilds, decided from the two configs alone.
import { describe, expect, it } from 'vitest';
import { planReload, diffPaths } from '../../src/app/reload-plan.js';
import type { Config } from '../../src/config/types.js';
import { testConfig } from '../helpers/instance.js';

const ep = (port: number, address = '127.0.0.1') => ({ family: (address.includes(':') ? 6 : 4) as 4 | 6, address, port });
const base = testConfig({ listen: [ep(5300), ep(5300, '::1')], upstreams: [ep(53, '192.0.2.1'), ep(53, '192.0.2.2')] });
const with_ = (patch: (c: Config) => Config): Config => patch(structuredClone(base));

describe('planReload', () => {
  it('an unchanged config changes nothing and keeps the cache', () => {
    const p = planReload(base, structuredClone(base));
    expect(p).toMatchObject({ changed: [], refused: [], rebuildPipeline: false, cache: 'kept', keepHealth: true });
    expect(p.listen.added).toEqual([]);
    expect(p.listen.removed).toEqual([]);
  });

  it('other upstream servers: rebuild and flush the cache', () => {
    const p = planReload(base, with_((c) => ({ ...c, upstream: { ...c.upstream, servers: [ep(53, '198.51.100.1')] } })));
    expect(p.changed).toEqual(['upstream.servers']);
    expect(p).toMatchObject({ rebuildPipeline: true, cache: 'flushed: the upstream servers changed', keepHealth: false });
  });

  it('the same servers in another order keep the cache, not the health order', () => {
    const p = planReload(base, with_((c) => ({ ...c, upstream: { ...c.upstream, servers: [...c.upstream.servers].reverse() } })));
    expect(p).toMatchObject({ rebuildPipeline: true, cache: 'kept', keepHealth: false });
  });

  it('other Forward= routes: rebuild, flush the cache (a name may change servers), a fresh health', () => {
    const routes = [{ domain: 'corp.example', servers: [ep(53, '10.1.1.53')] }];
    const p = planReload(base, with_((c) => ({ ...c, upstream: { ...c.upstream, routes } })));
    expect(p.changed).toEqual(['upstream.routes']);
    expect(p).toMatchObject({ rebuildPipeline: true, cache: 'flushed: the Forward= routes changed', keepHealth: false });
  });

  it('a server that gets another #NAME or %DEVICE keeps the cache but not the health (its exchanges change)', () => {
    const p = planReload(base, with_((c) => ({ ...c, upstream: { ...c.upstream, servers: [{ ...ep(53, '192.0.2.1'), tlsName: 'dns.example' }, ep(53, '192.0.2.2')] } })));
    expect(p).toMatchObject({ rebuildPipeline: true, cache: 'kept', keepHealth: false });
  });

  it('a timeout or TTL change rebuilds the pool but keeps cache and health', () => {
    const p = planReload(base, with_((c) => ({ ...c, upstream: { ...c.upstream, attemptTimeoutMs: 900 }, cache: { ...c.cache, maxTtlSec: 600 } })));
    expect(p.changed.sort()).toEqual(['cache.maxTtlSec', 'upstream.attemptTimeoutMs']);
    expect(p).toMatchObject({ rebuildPipeline: true, cache: 'kept', keepHealth: true });
  });

  it('a new capacity or switching the cache flushes it', () => {
    expect(planReload(base, with_((c) => ({ ...c, cache: { ...c.cache, maxEntries: 5 } }))).cache).toBe('flushed: CacheMaxEntries changed');
    const off = with_((c) => ({ ...c, cache: { ...c.cache, enabled: false } }));
    expect(planReload(base, off).cache).toBe('off');
    expect(planReload(off, base).cache).toBe('flushed: the cache was off');
  });

  it('listeners: keeps the same endpoints, opens new ones, closes the rest (IPv6 spelling does not matter)', () => {
    const next = with_((c) => ({ ...c, server: { ...c.server, listen: [ep(5300, '0:0::1'), ep(5301)] } }));
    const p = planReload(base, next);
    expect(p.listen.kept).toEqual([ep(5300, '0:0::1')]);
    expect(p.listen.added).toEqual([ep(5301)]);
    expect(p.listen.removed).toEqual([ep(5300)]);
    expect(p.rebuildPipeline).toBe(false);
  });

  it('refuses to move the instance to another VRF or upstream device', () => {
    const p = planReload(base, with_((c) => ({ ...c, vrf: 'blue', upstream: { ...c.upstream, device: 'red' } })));
    expect(p.refused).toEqual([
      expect.stringMatching(/^VRF changed from default to blue: restart/),
      expect.stringMatching(/^UpstreamDevice changed from default to red/),
    ]);
  });

  it('diffPaths reports leaves, lists as a whole, and ignores sources', () => {
    expect(diffPaths({ a: { b: 1, c: [1] }, sources: ['x'] }, { a: { b: 2, c: [1, 2] }, sources: ['y'] })).toEqual(['a.b', 'a.c']);
  });
});
