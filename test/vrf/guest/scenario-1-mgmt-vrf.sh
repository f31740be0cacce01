#!/bin/bash
# Scenario 1: vrf-resolver serves the mgmt VRF.
# A resolver instance runs with --vrf mgmt --upstream 10.53.0.2 (an upstream reachable only
# through mgmt). Processes inside mgmt (`ip vrf exec mgmt`) resolve through it with the
# system resolver (getent, apt) and with dig over UDP and TCP, on 127.0.0.1 and ::1.
# apt-get update against the lab's local repository (its name resolved by the resolver)
# works inside mgmt, and fails when no resolver runs in mgmt.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check "topology: the upstream answers directly from inside mgmt" \
  expect_answer mgmt "$MGMT_UP_ADDR" which.lab.test A 10.53.0.53

check "resolver --vrf mgmt starts and logs ready" \
  start_resolver mgmt --vrf mgmt --upstream "$MGMT_UP_ADDR" "${MGMT_EXTRA_ARGS[@]}"

check "dig @127.0.0.1 (UDP) inside mgmt" expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53
check "dig @127.0.0.1 +tcp inside mgmt" expect_answer mgmt 127.0.0.1 www.lab.test A 10.53.0.80 +tcp
check "dig @::1 (UDP) inside mgmt" expect_answer mgmt ::1 which.lab.test AAAA fd53::53
check "dig @::1 +tcp inside mgmt" expect_answer mgmt ::1 which.lab.test TXT '"upstream=mgmt"' +tcp
check "a never-cached name resolves inside mgmt (UDP)" \
  expect_answer mgmt 127.0.0.1 "$(unique_name wild.lab.test)" A 10.53.0.99
check "NXDOMAIN from the upstream passes through" \
  expect_no_answer mgmt 127.0.0.1 nosuchname.lab.test A NXDOMAIN

getent_works() {
  local out
  out=$(ip vrf exec mgmt getent ahosts www.lab.test)
  echo "$out"
  grep -q '^10\.53\.0\.80 ' <<<"$out"
}
check "getent ahosts (libc, resolv.conf 127.0.0.1) inside mgmt" getent_works

check "apt-get update inside mgmt: repo.lab.test resolved by the resolver" apt_update_works mgmt

check "resolver stops on SIGTERM" stop_resolver mgmt

check "apt-get update inside mgmt fails without a resolver in mgmt" apt_update_fails_to_resolve mgmt
