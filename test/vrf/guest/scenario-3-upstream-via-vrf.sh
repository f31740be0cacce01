#!/bin/bash
# Scenario 3: the mgmt instance's upstream queries leave through mgmt.
# The upstream 10.53.0.2 is reachable only through the mgmt VRF. The mgmt instance resolves a
# never-cached name and the upstream logs the query. Instances whose upstream sockets are not
# bound to mgmt get no answer (SERVFAIL or no reply) and the upstream never sees their query:
#   --upstream-device def-up    upstream sockets on a default-VRF device
#   --upstream-device default   upstream sockets bound to no device (listeners still in mgmt)
#   no --vrf at all             the whole instance in the default VRF

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check "topology: 10.53.0.2 answers from inside mgmt" \
  expect_answer mgmt "$MGMT_UP_ADDR" which.lab.test A 10.53.0.53
check "topology: 10.53.0.2 is unreachable from the default VRF" \
  expect_no_answer default "$MGMT_UP_ADDR" which.lab.test A NOREPLY

name=$(unique_name wild.lab.test)
check "resolver --vrf mgmt starts" \
  start_resolver mgmt --vrf mgmt --upstream "$MGMT_UP_ADDR" "${MGMT_EXTRA_ARGS[@]}"
check "mgmt instance resolves a never-cached name" expect_answer mgmt 127.0.0.1 "$name" A 10.53.0.99
check "the upstream received that query (through mgmt)" upstream_saw up-mgmt "$name"
check "mgmt instance stops" stop_resolver mgmt

name=$(unique_name wild.lab.test)
check "resolver --vrf mgmt --upstream-device def-up starts" \
  start_resolver wrong-device --vrf mgmt --upstream "$MGMT_UP_ADDR" --upstream-device def-up
check "upstream sockets on def-up: no answer (SERVFAIL, REFUSED or no reply)" \
  expect_no_answer mgmt 127.0.0.1 "$name" A "SERVFAIL REFUSED NOREPLY"
check "upstream sockets on def-up: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "--upstream-device instance stops" stop_resolver wrong-device

name=$(unique_name wild.lab.test)
check "resolver --vrf mgmt --upstream-device default (upstream sockets unbound) starts" \
  start_resolver unbound-upstream --vrf mgmt --upstream "$MGMT_UP_ADDR" --upstream-device default
check "upstream sockets unbound: no answer (SERVFAIL, REFUSED or no reply)" \
  expect_no_answer mgmt 127.0.0.1 "$name" A "SERVFAIL REFUSED NOREPLY"
check "upstream sockets unbound: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "--upstream-device default instance stops" stop_resolver unbound-upstream

name=$(unique_name wild.lab.test)
check "resolver without --vrf, --upstream 10.53.0.2, starts in the default VRF" \
  start_resolver no-vrf --upstream "$MGMT_UP_ADDR"
check "upstream sockets not in mgmt (no --vrf): no answer (SERVFAIL, REFUSED or no reply)" \
  expect_no_answer default 127.0.0.1 "$name" A "SERVFAIL REFUSED NOREPLY"
check "no --vrf: the upstream never saw the query" eval "! upstream_saw up-mgmt '$name'"
check "no-vrf instance stops" stop_resolver no-vrf
