#!/bin/bash
# Runs the lab's scenarios in order inside the guest (called by stage2.sh in test mode, and
# by systemd-scenarios.sh in the systemd boot).
# Each scenario is its own script, scenario-N-*.sh, run in a fresh bash; resolver instances
# a scenario leaves behind are stopped before the next one. Results go to /lab-io/results as
# "PASS scenario: check" / "FAIL scenario: check" lines. Exit status 1 if anything failed.

# The systemd boot (systemd-scenarios.sh) names its own setup, so the two boots' setups differ.
SCENARIO=${VRF_LAB_SETUP_NAME:-setup}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

: >"$RESULTS"
say "== $SCENARIO: topology (mgmt VRF, upstream namespaces, local apt repository)"
if check "topology comes up" topology_up; then
  show_topology >>"$LOG" 2>&1
  for want in ${VRF_LAB_SCENARIOS:-1 2 3}; do
    for script in "$GUEST"/scenario-"$want"-*.sh; do
      [ -e "$script" ] || { fail "no scenario matching '$want'"; continue; }
      name=$(basename "$script" .sh)
      name=${name#scenario-*-}
      echo "== scenario $name"
      SCENARIO=$name bash "$script"
      SCENARIO=$name stop_all_resolvers
    done
  done
fi

if grep -q '^FAIL' "$RESULTS"; then exit 1; fi
exit 0
