// FixRuleOrder=: the plan (host/rule-order.ts), shared with doctor, and the privileged step that
// applies it (systemd/rule-order.ts), against recorded `ip -j rule show` outputs.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseRules } from '../../src/host/parse.js';
import { planRuleOrder } from '../../src/host/rule-order.js';
import { ensureRuleOrder } from '../../src/systemd/rule-order.js';
import type { IpResult } from '../../src/systemd/loopback.js';

const fx = (name: string) => readFileSync(new URL(`../fixtures/host/${name}`, import.meta.url), 'utf8');

describe('planRuleOrder', () => {
  it('the kernel default with a VRF (local at 0, l3mdev at 1000): add local at 32765, then delete 0', () => {
    expect(planRuleOrder(parseRules(fx('rule4-local-first.json')))).toEqual({ kind: 'fix', l3mdevPref: 1000, add: 32765, del: [0] });
  });
  it('already right, or no VRF routing at all: nothing to do', () => {
    expect(planRuleOrder(parseRules(fx('rule4-fixed.json')))).toMatchObject({ kind: 'ok', l3mdevPref: 1000, localPref: 32765 });
    expect(planRuleOrder(parseRules(fx('rule4-stock.json')))).toEqual({ kind: 'no-l3mdev' });
  });
  it('a local rule both before and after l3mdev: only the one before goes', () => {
    const rules = parseRules('[{"priority":0,"src":"all","table":"local"},{"priority":1000,"src":"all","l3mdev":null},{"priority":32765,"src":"all","table":"local"}]');
    expect(planRuleOrder(rules)).toEqual({ kind: 'fix', l3mdevPref: 1000, add: null, del: [0] });
  });
});

/** A fake `ip`: answers `rule show` per family from fixtures and records every other call. */
function fakeIp(v4: string, v6: string, fail?: string) {
  const calls: string[] = [];
  const ip = async (args: readonly string[]): Promise<IpResult> => {
    const line = args.join(' ');
    if (line === '-4 -j rule show') return { code: 0, stdout: v4, stderr: '' };
    if (line === '-6 -j rule show') return { code: 0, stdout: v6, stderr: '' };
    calls.push(line);
    return line === fail ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted\n' } : { code: 0, stdout: '', stderr: '' };
  };
  return { ip, calls };
}

describe('ensureRuleOrder (the unit\'s privileged start step)', () => {
  it('fixes both families, adding before deleting, and says what it ran', async () => {
    const { ip, calls } = fakeIp(fx('rule4-local-first.json'), fx('rule6-local-first.json'));
    const r = await ensureRuleOrder(ip);
    expect(calls).toEqual(['-4 rule add pref 32765 table local protocol kernel', '-4 rule del pref 0', '-6 rule add pref 32765 table local protocol kernel', '-6 rule del pref 0']);
    expect(r).toEqual({ ran: calls.map((c) => `ip ${c}`), state: { v4: 'fixed', v6: 'fixed' } });
  });
  it('changes nothing when the order is right or there is no l3mdev rule', async () => {
    const { ip, calls } = fakeIp(fx('rule4-fixed.json'), fx('rule6-stock.json'));
    expect(await ensureRuleOrder(ip)).toEqual({ ran: [], state: { v4: 'ok', v6: 'no l3mdev rule' } });
    expect(calls).toEqual([]);
  });
  it('stops with iproute2\'s own message when a command fails', async () => {
    const { ip } = fakeIp(fx('rule4-local-first.json'), fx('rule6-fixed.json'), '-4 rule del pref 0');
    await expect(ensureRuleOrder(ip)).rejects.toThrow('ip -4 rule del pref 0: RTNETLINK answers: Operation not permitted');
  });
});
