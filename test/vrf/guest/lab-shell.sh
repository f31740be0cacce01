#!/bin/bash
# --lab mode: bring the topology up, start a resolver for mgmt and one for the default VRF,
# and hand the console to an interactive shell. Leaving the shell powers the VM off.

SCENARIO=lab
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

echo "vrf-lab: bringing the topology up"
topology_up || { echo "vrf-lab: topology failed; see $LOG"; }
echo "vrf-lab: starting vrf-resolver for mgmt (upstream $MGMT_UP_ADDR) and for the default VRF (upstream $DEF_UP_ADDR)"
start_resolver mgmt --vrf mgmt --upstream "$MGMT_UP_ADDR" "${MGMT_EXTRA_ARGS[@]}" ||
  echo "vrf-lab: the mgmt resolver did not start; see $LOGDIR/resolver-mgmt.log"
start_resolver default --upstream "$DEF_UP_ADDR" ||
  echo "vrf-lab: the default-VRF resolver did not start; see $LOGDIR/resolver-default.log"

cat >/root/.vrf-lab-bashrc <<RC
. /etc/bash.bashrc 2>/dev/null
PS1='vrf-lab# '
SCENARIO=lab . "$GUEST/lib.sh"; set +u
cat <<'TXT'

  VRF lab: kernel $(uname -r) with a real VRF. Things to try:
    ip vrf show; ip rule; ip route show vrf mgmt
    ip vrf exec mgmt dig @127.0.0.1 which.lab.test      # mgmt instance: 10.53.0.53
    dig @127.0.0.1 which.lab.test                        # default instance: 10.54.0.54
    ip vrf exec mgmt getent ahosts www.lab.test
    ip vrf exec mgmt dig @10.53.0.2 which.lab.test       # the upstream, only reachable in mgmt
    apt_update_works mgmt                                 # apt-get update inside mgmt
    tail $LOGDIR/resolver-mgmt.log; stop_resolver mgmt; start_resolver mgmt --vrf mgmt --upstream 10.53.0.2
  Logs are in $LOGDIR (the host's results folder). Type exit (or Ctrl-D) to power off.

TXT
RC
TTY=/dev/ttyS0
stty -F "$TTY" sane 2>/dev/null
cd /root || true
setsid --ctty --wait bash --rcfile /root/.vrf-lab-bashrc -i <"$TTY" >"$TTY" 2>&1
stop_all_resolvers
