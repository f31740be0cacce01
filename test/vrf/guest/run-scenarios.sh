#!/bin/bash
# Runs the lab's scenarios in order inside the guest (called by stage2.sh in test mode, and
# by systemd-scenarios.sh in the systemd boot and the seed boots).
# First the world they run in: the lab's topology (topology_up), or, in the seed boots
# (VRF_LAB_SEED_BOOT set), the seed's world that vrf-lab-world.service made at boot (seed.sh).
# Each scenario is its own script, scenario-N-*.sh, run in a fresh bash; resolver instances
# a scenario leaves behind are stopped before the next one. Results go to /lab-io/results as
# "PASS scenario: check" / "FAIL scenario: check" lines. Exit status 1 if anything failed.

# The systemd boot (systemd-scenarios.sh) names its own setup, so the two boots' setups differ.
SCENARIO=${VRF_LAB_SETUP_NAME:-setup}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

: >"$RESULTS"
if [ -n "${VRF_LAB_SEED_BOOT:-}" ]; then
  # shellcheck source=seed.sh
  . "$GUEST/seed.sh"
  say "== $SCENARIO: the seed's world (boot $VRF_LAB_SEED_BOOT): the admin network behind eth0, made at boot"
  world_up() { check "the seed's world is up: vrf-lab-world.service, DNS and apt repository at $SEED_DNS (netns up-mgmt)" seed_world_ready; }
else
  say "== $SCENARIO: topology (mgmt VRF, upstream namespaces, local apt repository)"
  world_up() { check "topology comes up" topology_up && show_topology >>"$LOG" 2>&1; }
fi
if world_up; then
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
