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

# ---- vrf-resolver doctor against the real VRF ----

VR=(node "$VRF_LAB_REPO/dist/main.js")
doctor_clean() {
  local out rc
  out=$(timeout 300 "${VR[@]}" doctor mgmt 2>&1)
  rc=$?
  echo "$out (exit $rc)"
  [ $rc -eq 0 ] && grep -q '^PASS \[mgmt\] vrf-device' <<<"$out" && grep -q '^PASS \[mgmt\] rule-order' <<<"$out" &&
    grep -q '^PASS \[mgmt\] loopback' <<<"$out" && grep -q '^PASS \[mgmt\] query' <<<"$out"
}
check "doctor mgmt: no FAIL on the healthy lab (the VRF device, loopbacks, rule order, a query from inside mgmt)" doctor_clean

# doctor_finds FAULT ID: make the fault, see FAIL ID with fix lines, run those fixes, see PASS ID.
doctor_finds() {
  local out rc fixes
  eval "$1"
  out=$(timeout 300 "${VR[@]}" doctor mgmt 2>&1)
  rc=$?
  echo "after the fault: $out (exit $rc)"
  [ $rc -eq 1 ] && grep -q "^FAIL \[mgmt\] $2:" <<<"$out" || return 1
  fixes=$(awk -v id="$2:" '/^(PASS|WARN|FAIL) / { on = ($1 == "FAIL" && $3 == id) } on && /^  fix: / { sub(/^  fix: /, ""); print }' <<<"$out")
  echo "applying the printed fix: $fixes"
  [ -n "$fixes" ] && eval "$fixes" || return 1
  out=$(timeout 300 "${VR[@]}" doctor mgmt 2>&1)
  echo "after the fix: $out"
  grep -q "^PASS \[mgmt\] $2:" <<<"$out" && ! grep -q "^FAIL \[mgmt\] $2:" <<<"$out"
}
check "doctor: 127.0.0.1/8 removed from mgmt is a FAIL, and its printed fix restores it" \
  doctor_finds "ip addr del 127.0.0.1/8 dev mgmt" loopback
check "doctor: lookup local before the l3mdev rule (the seed's fault) is a FAIL, and its printed fix restores the order" \
  doctor_finds "ip -4 rule add pref 0 lookup local && ip -4 rule del pref 32765" rule-order
check "answers inside mgmt again after the fixes" expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53

check "resolver stops on SIGTERM" stop_resolver mgmt

check "apt-get update inside mgmt fails without a resolver in mgmt" apt_update_fails_to_resolve mgmt
