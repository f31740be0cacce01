#!/bin/bash
# vrf-lab.service (see systemd-boot.sh): runs the systemd boot's scenarios (or a seed boot's)
# with systemd as PID 1, writes /lab-io/exit-code and the journal, and exits; the unit's
# SuccessAction= then powers the VM off.

set -u
# shellcheck source=/dev/null
. /lab-io/config.sh
GUEST="$VRF_LAB_REPO/test/vrf/guest"
LOGDIR=/lab-io/logs
mkdir -p "$LOGDIR"

boot_time=$(timeout 30 systemd-analyze time 2>&1)
{
  echo "\$ systemd-analyze time"
  echo "$boot_time"
  echo "\$ systemctl --failed"
  timeout 30 systemctl --failed --no-pager
} >"$LOGDIR/systemd-boot.log" 2>&1
echo "vrf-lab: systemd boot: $(head -n1 <<<"$boot_time")"

# The seed boots name theirs in config.sh (seed-setup, seed-reboot-setup).
VRF_LAB_SETUP_NAME=${VRF_LAB_SETUP_NAME:-systemd-setup} bash "$GUEST/run-scenarios.sh"
rc=$?

timeout 60 journalctl -b --no-pager -o short-monotonic >"$LOGDIR/journal.log" 2>&1
echo "$rc" >/lab-io/exit-code
sync
exit 0
