#!/bin/bash
# vrf-lab-boot: systemd
# Scenario 7: the VRF made by the tools that make VRFs, as the README's recipes write them, with
# vrf-resolver@NAME enabled under systemd (PID 1), and the VRF deleted and created again by
# the tool itself while the instance runs:
#
#   systemd-networkd  /etc/systemd/network: nd.netdev (Kind=vrf, Table=1100), nd.network (the
#                     loopbacks), nd-eth.network (VRF=nd). Re-created with `networkctl delete
#                     nd` and a restart of networkd; then with `networkctl delete nd` and
#                     `networkctl reload`, which makes nd again but leaves nd-eth out until
#                     networkd restarts. Each start of networkd removes the routing rules it did
#                     not make (ManageForeignRoutingPolicyRules=yes): the moved `lookup local`
#                     rule must survive that.
#   ifupdown2         Debian's package, dpkg -i in the guest's overlay (run.mjs downloads it);
#                     /etc/network/interfaces as Cumulus Linux writes it: ifv (vrf-table 1200,
#                     the loopbacks) and ifv-eth (vrf ifv). Re-created with `ifdown ifv` and
#                     `ifreload -a`; `ifreload -a` with nothing changed.
#
# Each VRF has its own upstream: netns up-NAME behind the veth NAME-eth (the host side is the
# tool's to configure, as eth0 would be), dnsmasq at 10.O.0.2 answering which.lab.test TXT
# "upstream=NAME". The lab's own mgmt (scenario 4's) is not used. This scenario runs last in
# its boot: networkd may remove routes and rules of links it does not manage at its start.
# The recipes' DHCP is replaced by static addresses (the lab has no DHCP server).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CONF=/etc/vrf-resolver
NETD=/etc/systemd/network
TOOL_TIMEOUT=${VRF_LAB_TOOL_TIMEOUT:-300} # ifupdown2 is Python: seconds per call under TCG

# tool_upstream NAME O: netns up-NAME, veth NAME-eth <-> eth0 (10.O.0.2, fdO::2) with dnsmasq.
tool_upstream() {
  local name=$1 o=$2 ns="up-$1"
  ip netns add "$ns" &&
    ip link add "$name-eth" type veth peer name eth0 netns "$ns" &&
    ip -n "$ns" link set lo up &&
    ip -n "$ns" addr add "10.$o.0.2/24" dev eth0 &&
    ip -n "$ns" -6 addr add "fd$o::2/64" dev eth0 nodad &&
    ip -n "$ns" link set eth0 up || return 1
  start_upstream_dns "$ns" "10.$o.0.2" "fd$o::2" "$name" "$o"
  wait_for 30 ip netns exec "$ns" dig +short +time=1 +tries=1 "@10.$o.0.2" which.lab.test A
}

# instance_conf NAME O: /etc/vrf-resolver/NAME.conf asking the VRF's upstream. CacheMinTTLSec=:
# the lab's dnsmasq answers with TTL 0, and the re-creation checks need a cache.
instance_conf() {
  mkdir -p "$CONF"
  printf '[Resolve]\nDNS=10.%s.0.2\nCacheMinTTLSec=600\n' "$2" >"$CONF/$1.conf"
  chmod 0644 "$CONF/$1.conf"
  cat "$CONF/$1.conf"
}

# rules_ordered: for IPv4 and IPv6, a `lookup local` rule exists and every one comes after l3mdev.
rules_ordered() {
  local fam l3 loc
  for fam in -4 -6; do
    ip "$fam" rule
    l3=$(ip "$fam" rule | awk -F: '/lookup \[l3mdev-table\]/ { print $1; exit }')
    loc=$(ip "$fam" rule | awk -F: '/lookup local/ { print $1 }' | sort -n | head -n1)
    echo "ip $fam rule: l3mdev at ${l3:-none}, first lookup local at ${loc:-none}"
    [ -n "$l3" ] && [ -n "$loc" ] && [ "$loc" -gt "$l3" ] || return 1
  done
}

# The kernel's own order, as on a host before any VRF tool ran: lookup local at pref 0.
local_rule_first() {
  local fam p
  for fam in -4 -6; do
    ip "$fam" rule add pref 0 lookup local 2>/dev/null
    for p in $(ip "$fam" rule | awk -F: '/lookup local/ && $1 != 0 { print $1 }'); do
      ip "$fam" rule del pref "$p" || return 1
    done
    ip "$fam" rule
  done
  ip -4 rule | grep -q '^0:.*lookup local'
}

answers_in() { # VRF WANT: which.lab.test TXT from inside VRF, within 60 s
  local i got
  for i in $(seq 1 120); do
    got=$(ip vrf exec "$1" dig +short +time=1 +tries=1 @127.0.0.1 which.lab.test TXT 2>/dev/null)
    if [ "$got" = "$2" ]; then
      echo "answered after try $i"
      return 0
    fi
    sleep 0.5
  done
  echo "no answer $2 inside $1 within 60 s (last: ${got:-nothing})"
  ip -br addr
  ip -d link show "$1"
  return 1
}

enslaved() { # PORT VRF
  ip -d link show "$1" | grep -q "master $2 " || { ip -d link show "$1"; return 1; }
}

same_pid() { # UNIT PID
  echo "$1: MainPID $2 -> $(uprop "$1" MainPID)"
  unit_is "$1" active running && [ "$(uprop "$1" MainPID)" = "$2" ]
}

# follow_checks VRF O WHAT RECREATE: the instance under the tool's VRF, then RECREATE (a command
# line: the tool deleting and creating the VRF again): same process, answers resume, cache kept.
follow_checks() {
  # (not `name`: check() has a local of that name, and bash scopes dynamically)
  local vrf=$1 o=$2 what=$3 recreate=$4
  local U="vrf-resolver@$vrf.service" want="\"upstream=$vrf\"" cached seen pid
  check "$what: systemctl enable --now $U" sctl enable --now "$U"
  answers_both() { answers_in "$vrf" "$want" && expect_answer "$vrf" ::1 which.lab.test TXT "$want"; }
  check "$what: the instance answers inside $vrf (127.0.0.1 and ::1)" answers_both
  check "$what: the rule order holds (l3mdev before lookup local, IPv4 and IPv6)" rules_ordered
  cached=$(unique_name wild.lab.test)
  check "$what: a name asked once inside $vrf (cached from now on)" expect_answer "$vrf" 127.0.0.1 "$cached" A "10.$o.0.99"
  seen=$(grep -F "$cached" "$STATE/dnsmasq-up-$vrf.log" | grep -cF 'query[')
  pid=$(uprop "$U" MainPID)

  recreated() {
    local t0=$SECONDS old new
    old=$(cat "/sys/class/net/$vrf/ifindex")
    echo "+ $recreate"
    timeout "$TOOL_TIMEOUT" bash -c "$recreate" || { echo "exit $?"; return 1; }
    wait_for 60 test -e "/sys/class/net/$vrf" || return 1
    new=$(cat "/sys/class/net/$vrf/ifindex")
    echo "$vrf: ifindex $old -> $new after $((SECONDS - t0)) s"
    [ "$new" != "$old" ] || { echo "the tool did not re-create $vrf"; return 1; }
    wait_for 30 enslaved "$vrf-eth" "$vrf" || { echo "$vrf-eth is not in the new $vrf"; return 1; }
    answers_in "$vrf" "$want" || return 1
    echo "answered $((SECONDS - t0)) s after the tool started"
    same_pid "$U" "$pid" && journal_has "$U" "$vrf was created again"
  }
  check "$what: re-created by the tool ($recreate): the same process answers on the new device" recreated
  cache_kept() {
    expect_answer "$vrf" 127.0.0.1 "$cached" A "10.$o.0.99" || return 1
    local now
    now=$(grep -F "$cached" "$STATE/dnsmasq-up-$vrf.log" | grep -cF 'query[')
    echo "upstream queries for $cached: $seen before, $now now"
    [ "$now" = "$seen" ]
  }
  check "$what: the cache survived the re-creation (no upstream query for the name asked before)" cache_kept
  check "$what: the rule order holds after the re-creation" rules_ordered
}

# reload_nothing UNIT CMD...: the tool applies an unchanged configuration; the process stays.
reload_nothing() {
  local U=$1 pid
  shift
  pid=$(uprop "$U" MainPID)
  timeout "$TOOL_TIMEOUT" "$@" || return 1
  sleep 2
  same_pid "$U" "$pid"
}

# ---- systemd-networkd -----------------------------------------------------------------------

check "networkd: upstream netns up-nd behind nd-eth" tool_upstream nd 57
check "networkd: the rule order as the kernel makes it (lookup local at pref 0)" local_rule_first

networkd_files() {
  mkdir -p "$NETD"
  printf '[NetDev]\nName=nd\nKind=vrf\n[VRF]\nTable=1100\n' >"$NETD/10-nd.netdev"
  printf '[Match]\nName=nd\n[Network]\nAddress=127.0.0.1/8\nAddress=::1/128\n' >"$NETD/10-nd.network"
  # The recipe's DHCP=yes, static here; no IPv6 link-local (nothing needs it, and DAD is slow).
  printf '[Match]\nName=nd-eth\n[Network]\nVRF=nd\nAddress=10.57.0.1/24\nAddress=fd57::1/64\nLinkLocalAddressing=no\n' >"$NETD/20-nd-eth.network"
  head -n 20 "$NETD"/*nd*
}
check "networkd: the recipe's .netdev and .network files" networkd_files
instance_conf nd 57 >>"$LOG" 2>&1

networkd_up() {
  sctl start systemd-networkd.service || { sctl status systemd-networkd.service; return 1; }
  wait_for 120 enslaved nd-eth nd || return 1
  wait_for 60 bash -c 'ip addr show dev nd | grep -q "inet 127.0.0.1/8"' || return 1
  timeout 60 networkctl list --no-pager
  ip -d link show nd
  ip addr show dev nd
}
check "networkd: systemd-networkd makes nd (table 1100) with its loopbacks and enslaves nd-eth" networkd_up

follow_checks nd 57 networkd 'networkctl delete nd && systemctl restart systemd-networkd'
check "networkd: networkctl reload with nothing changed: the instance keeps running" reload_nothing vrf-resolver@nd.service networkctl reload
check "networkd: still answering after the unchanged reload" answers_in nd '"upstream=nd"'

# The other way: `networkctl reload` after the delete makes nd again, but networkd 252 leaves
# nd-eth out of it (and `networkctl reconfigure nd-eth` does not put it back: seen in this
# lab); the instance follows the new nd and answers from its cache, and once networkd is
# restarted nd-eth is in nd and upstream is reachable again. That restart also removes the
# rules networkd did not make, except `protocol kernel` ones: the moved lookup local survives.
reload_recreate() {
  local old pid fresh
  old=$(cat /sys/class/net/nd/ifindex)
  pid=$(uprop vrf-resolver@nd.service MainPID)
  timeout "$TOOL_TIMEOUT" networkctl delete nd && timeout "$TOOL_TIMEOUT" networkctl reload || return 1
  wait_for 60 bash -c "[ -e /sys/class/net/nd ] && [ \"\$(cat /sys/class/net/nd/ifindex)\" != $old ]" || return 1
  echo "nd: ifindex $old -> $(cat /sys/class/net/nd/ifindex)"
  answers_in nd '"upstream=nd"' || return 1 # cached: the same process listens on the new nd
  if enslaved nd-eth nd; then echo "nd-eth is in the new nd after the reload"; else echo "nd-eth is not in the new nd after the reload"; fi
  sctl restart systemd-networkd.service || return 1
  wait_for 60 enslaved nd-eth nd || return 1
  rules_ordered || return 1
  fresh=$(unique_name wild.lab.test)
  expect_answer nd 127.0.0.1 "$fresh" A 10.57.0.99 && same_pid vrf-resolver@nd.service "$pid"
}
check "networkd: networkctl delete nd and reload, then a restart of networkd: the same process answers, upstream again, lookup local kept" reload_recreate

networkd_down() {
  sctl disable --now vrf-resolver@nd.service
  rm -f "$NETD/10-nd.netdev" "$NETD/10-nd.network" "$NETD/20-nd-eth.network"
  sctl stop systemd-networkd.service systemd-networkd.socket
  ip link del nd 2>/dev/null
  ! ip link show nd 2>/dev/null
}
check "networkd: instance disabled, networkd stopped, nd deleted" networkd_down

# ---- ifupdown2 ------------------------------------------------------------------------------

install_ifupdown2() {
  local debs=("${VRF_LAB_TOOL_DEBS:-/nonexistent}"/ifupdown2_*.deb)
  [ -f "${debs[0]}" ] || { echo "no ifupdown2 .deb in ${VRF_LAB_TOOL_DEBS:-(VRF_LAB_TOOL_DEBS unset)}"; return 1; }
  timeout "$TOOL_TIMEOUT" dpkg -i "${debs[@]}" || return 1
  dpkg-query -W -f='${Package} ${Status} ${Version}\n' ifupdown2
  ifreload --version
}
check "ifupdown2: Debian's package installed in the guest's overlay (dpkg -i)" install_ifupdown2
check "ifupdown2: upstream netns up-ifv behind ifv-eth" tool_upstream ifv 58

ifupdown2_files() {
  cat >/etc/network/interfaces <<'EOF'
# written by the VRF lab (scenario 7): the README's ifupdown2 recipe, static instead of DHCP
auto lo
iface lo inet loopback

auto ifv
iface ifv
    address 127.0.0.1/8
    address ::1/128
    vrf-table 1200

auto ifv-eth
iface ifv-eth
    address 10.58.0.1/24
    address fd58::1/64
    vrf ifv
EOF
  cat /etc/network/interfaces
}
check "ifupdown2: the recipe's /etc/network/interfaces" ifupdown2_files
instance_conf ifv 58 >>"$LOG" 2>&1

# As at boot: networking.service (ifupdown2's start-networking makes /run/network, then ifup -a).
ifupdown2_up() {
  sctl start networking.service || { sctl status networking.service; return 1; }
  enslaved ifv-eth ifv || return 1
  ip -d link show ifv
  ip addr show dev ifv
  ip addr show dev ifv | grep -q 'inet 127.0.0.1/8'
}
check "ifupdown2: systemctl start networking (ifup -a) makes ifv (table 1200) with its loopbacks and enslaves ifv-eth" ifupdown2_up

follow_checks ifv 58 ifupdown2 'ifdown ifv && ifreload -a'
check "ifupdown2: ifreload -a with nothing changed: the instance keeps running" reload_nothing vrf-resolver@ifv.service ifreload -a
check "ifupdown2: still answering after the unchanged ifreload" answers_in ifv '"upstream=ifv"'

ifupdown2_down() {
  sctl disable --now vrf-resolver@ifv.service
  timeout "$TOOL_TIMEOUT" ifdown ifv-eth ifv
  ! ip link show ifv 2>/dev/null
}
check "ifupdown2: instance disabled, ifdown removes ifv" ifupdown2_down
