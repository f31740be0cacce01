// Every doctor check, in the order a query needs them to hold: the kernel and the VRF device,
// its loopback addresses and the rule order, the capability to bind to it, then how glibc finds
// the resolver, the instance itself, a real query, the way upstream, and port 53. Each is
// `(facts, vrf) => Finding[]` over recorded HostFacts, so every one is unit-tested without a kernel.

import { instance, instanceIfindex, instanceListeners, instanceUnit, upstreams } from './checks-instance.js';
import { port53, query, upstreamRoute } from './checks-reach.js';
import { l3mdevAccept, nsswitch, resolvConf, systemdResolved } from './checks-resolv.js';
import { capabilities, kernelVrf, loopback, ruleOrder, vrfDevice } from './checks-vrf.js';
import type { Check } from './finding.js';

export const CHECKS: readonly Check[] = [
  kernelVrf,
  vrfDevice,
  loopback,
  ruleOrder,
  capabilities,
  l3mdevAccept,
  resolvConf,
  nsswitch,
  systemdResolved,
  instanceUnit,
  instance,
  instanceListeners,
  instanceIfindex,
  upstreams,
  query,
  upstreamRoute,
  port53,
];
