#!/bin/bash
# vrf-lab-boot: seed
# Scenario 5: the seed, start to end, with systemd as PID 1, on a host that reboots. run.mjs
# boots the VM twice on one disk (the overlay's upper layer; seed.sh says how the host and its
# world are made) and runs this script in each boot:
#
#   boot 1 (seed):        systemd-resolved installed and active, resolv.conf its stub symlink,
#                         nsswitch with resolve; the host resolves and updates through eth0;
#                         the seed's commands put eth0 into mgmt, and `ip vrf exec mgmt apt-get
#                         update` fails to resolve; `vrf-resolver setup mgmt`; then apt-get
#                         update, getent and dig in mgmt and dig from the default VRF work,
#                         doctor exits 0, a second setup changes nothing. The VM powers off.
#   boot 2 (seed-reboot): no setup: the enabled units came up by themselves (ensure-loopback
#                         added the loopbacks and fixed the rule order), resolved stays off,
#                         apt-get update in mgmt works, doctor exits 0; then `setup --undo`
#                         restores resolved, its resolv.conf and nsswitch as they were, and the
#                         seed's failure is back.

# shellcheck source=/dev/null
. /lab-io/config.sh
if [ "${VRF_LAB_SEED_BOOT:-1}" = 2 ]; then SCENARIO=seed-reboot; else SCENARIO=seed; fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=seed.sh
. "$GUEST/seed.sh"

VR=/usr/local/bin/vrf-resolver
# Node under TCG is 30-50x slower than on a host: setup and doctor start several processes.
VR_TIMEOUT="${VRF_LAB_VR_TIMEOUT:-300}"
R=systemd-resolved.service
UM=vrf-resolver@mgmt.service
UD=vrf-resolver@default.service

# vr NAME ARGS...: `vrf-resolver ARGS`, bounded; its output in the log and in logs/NAME.out,
# VR_RC and VR_OUT set. Succeeds when the command exited 0.
vr() {
  local name=$1 t0=$SECONDS
  shift
  VR_OUT=$(timeout "$VR_TIMEOUT" "$VR" "$@" 2>&1)
  VR_RC=$?
  printf '%s\n' "$VR_OUT" >"$LOGDIR/$name.out"
  echo "\$ vrf-resolver $*: exit $VR_RC after $((SECONDS - t0)) s"
  printf '%s\n' "$VR_OUT" | sed 's/^/    /'
  [ "$VR_RC" -eq 0 ]
}

systemd_up() {
  echo "PID 1: $(cat /proc/1/comm); system state: $(sctl is-system-running); boot id $(cat /proc/sys/kernel/random/boot_id)"
  sctl --failed
  [ "$(cat /proc/1/comm)" = systemd ] && unit_is multi-user.target active && unit_is "$SEED_NET_UNIT" active
}

getent_has() { # VRF NAME ADDR
  local out
  out=$(in_vrf "$1" timeout 60 getent ahosts "$2" 2>&1)
  echo "[$1] getent ahosts $2: $(tr '\n' ' ' <<<"$out")"
  grep -q "^$3 " <<<"$out"
}
getent_fails() { # VRF NAME
  local out rc
  out=$(in_vrf "$1" timeout 60 getent ahosts "$2" 2>&1)
  rc=$?
  echo "[$1] getent ahosts $2: exit $rc $(tr '\n' ' ' <<<"$out")"
  [ "$rc" -ne 0 ]
}

resolved_is_stock() {
  local v
  v=$(dpkg-query -W -f='${Version}' systemd)
  dpkg-query -W -f='${Package} ${Status} ${Version}\n' systemd-resolved libnss-resolve || return 1
  [ "$(dpkg-query -W -f='${Status} ${Version}' systemd-resolved)" = "install ok installed $v" ] &&
    [ "$(dpkg-query -W -f='${Status} ${Version}' libnss-resolve)" = "install ok installed $v" ] || return 1
  echo "$R: enabled=$(sctl is-enabled "$R")"
  timeout 60 resolvectl status --no-pager 2>&1 | head -n 12
  unit_is "$R" active running && [ "$(sctl is-enabled "$R")" = enabled ]
}

resolv_conf_is_stub() {
  ls -l /etc/resolv.conf
  grep -v '^#' /etc/resolv.conf | grep .
  [ "$(readlink /etc/resolv.conf)" = "$SEED_STUB" ] && grep -q '^nameserver 127\.0\.0\.53$' /etc/resolv.conf
}

nsswitch_has_resolve() {
  grep '^hosts:' /etc/nsswitch.conf
  grep -Eq '^hosts:.*[[:space:]]resolve([[:space:]]|$)' /etc/nsswitch.conf
}

units_are() { # ACTIVESTATE ENABLED UNIT...
  local want=$1 en=$2 u ok=0
  shift 2
  for u in "$@"; do
    echo "$u: enabled=$(sctl is-enabled "$u" 2>&1)"
    unit_is "$u" "$want" || ok=1
    [ "$(sctl is-enabled "$u" 2>&1)" = "$en" ] || ok=1
  done
  return $ok
}

# ---- boot 1 --------------------------------------------------------------------------------

save_before_setup() {
  mkdir -p "$SEED_STATE" || return 1
  cp -a /etc/nsswitch.conf "$SEED_STATE/nsswitch.conf.before-setup" || return 1
  readlink /etc/resolv.conf >"$SEED_STATE/resolv.conf.link.before-setup"
  cat /proc/sys/kernel/random/boot_id >"$SEED_STATE/boot-id-1"
  ls -l "$SEED_STATE"
  [ -s "$SEED_STATE/resolv.conf.link.before-setup" ]
}

setup_state() {
  local ok=0
  units_are active enabled "$UM" "$UD" || ok=1
  units_are inactive disabled "$R" || ok=1
  ls -l /etc/resolv.conf
  cat /etc/resolv.conf
  [ -L /etc/resolv.conf ] && ok=1
  grep -q '^nameserver 127\.0\.0\.1$' /etc/resolv.conf || ok=1
  grep -q '^nameserver ::1$' /etc/resolv.conf || ok=1
  grep '^hosts:' /etc/nsswitch.conf
  grep -Eq '^hosts:.*[[:space:]]resolve([[:space:]]|$)' /etc/nsswitch.conf && ok=1
  for f in /etc/vrf-resolver/mgmt.conf /etc/vrf-resolver/default.conf; do
    echo "---- $f"
    cat "$f" || ok=1
  done
  grep -q "$SEED_DNS" /etc/vrf-resolver/mgmt.conf || ok=1
  grep -Eq '^UpstreamDevice=mgmt$' /etc/vrf-resolver/default.conf || ok=1
  echo "---- /var/lib/vrf-resolver/setup"
  ls -la /var/lib/vrf-resolver/setup || ok=1
  return $ok
}

second_setup_changes_nothing() {
  local before after
  before=$(seed_fingerprint)
  echo "before:"
  echo "$before" | sed 's/^/    /'
  vr setup-again setup mgmt || return 1
  after=$(seed_fingerprint)
  if [ "$before" != "$after" ]; then
    echo "changed:"
    diff <(echo "$before") <(echo "$after")
    return 1
  fi
  grep -qiF 'nothing to change' <<<"$VR_OUT" || {
    echo "its output does not say 'nothing to change'"
    return 1
  }
}

boot1() {
  check "systemd is PID 1, multi-user.target reached (the host's network configuration ran)" systemd_up
  check "systemd-resolved installed in the guest (Debian package, the host's systemd version), enabled and active" \
    resolved_is_stock
  check "/etc/resolv.conf is resolved's stub symlink ($SEED_STUB, nameserver 127.0.0.53)" resolv_conf_is_stub
  check "nsswitch.conf: the hosts line has resolve (libnss-resolve's postinst)" nsswitch_has_resolve
  # (apt-get update here too would cost ~20 s under TCG; the name is what the seed breaks.)
  check "before the seed: the host resolves repo.lab.test through resolved (eth0 in the default VRF)" \
    getent_has default repo.lab.test "$SEED_DNS"

  check "the seed's commands: mgmt (table $SEED_TABLE), eth0 enslaved, the default route in table $SEED_TABLE" \
    seed_commands
  check "the seed's commands: lookup local after the l3mdev rule (IPv4, IPv6)" rules_local_after_l3mdev
  write_persistent() {
    seed_network_script vrf >"$SEED_NET_SCRIPT" || return 1
    cat "$SEED_NET_SCRIPT"
    [ "$(sctl is-enabled "$SEED_NET_UNIT")" = enabled ]
  }
  check "the seed's persistent network configuration ($SEED_NET_SCRIPT): mgmt, eth0 in it, the default route in table $SEED_TABLE" \
    write_persistent
  check "the seed's problem: ip vrf exec mgmt apt-get update fails to resolve repo.lab.test" \
    apt_update_fails_to_resolve mgmt
  check "the seed's problem: the default VRF cannot resolve either (resolved has no route to $SEED_DNS)" \
    getent_fails default repo.lab.test
  check "saved on the disk before setup: nsswitch.conf, resolv.conf's link" save_before_setup

  check "vrf-resolver setup mgmt: exit 0" vr setup setup mgmt
  check "after setup: vrf-resolver@mgmt and @default enabled and active, resolved stopped and disabled, resolv.conf 127.0.0.1 and ::1, no resolve in nsswitch" \
    setup_state
  check "ip vrf exec mgmt apt-get update works" apt_update_works mgmt
  check "ip vrf exec mgmt getent ahosts repo.lab.test" getent_has mgmt repo.lab.test "$SEED_DNS"
  check "dig in mgmt @127.0.0.1: repo.lab.test" expect_answer mgmt 127.0.0.1 repo.lab.test A "$SEED_DNS"
  check "dig in mgmt @::1 +tcp: repo.lab.test" expect_answer mgmt ::1 repo.lab.test A "$SEED_DNS" +tcp
  check "dig from the default VRF @127.0.0.1: repo.lab.test (vrf-resolver@default, upstream through mgmt)" \
    expect_answer default 127.0.0.1 repo.lab.test A "$SEED_DNS"
  check "getent ahosts repo.lab.test from the default VRF" getent_has default repo.lab.test "$SEED_DNS"
  check "vrf-resolver doctor (every VRF and default): exit 0" vr doctor-1 doctor
  check "a second vrf-resolver setup mgmt: exit 0, 'nothing to change', no file changed" second_setup_changes_nothing
  sync
}

# ---- boot 2 --------------------------------------------------------------------------------

same_disk() {
  local b1 b2
  b1=$(cat "$SEED_STATE/boot-id-1" 2>/dev/null)
  b2=$(cat /proc/sys/kernel/random/boot_id)
  echo "seed host made $(cat "$SEED_STATE/boot-1" 2>/dev/null); boot 1 id $b1, this boot $b2"
  ls -la "$SEED_STATE" /var/lib/vrf-resolver/setup
  [ -n "$b1" ] && [ "$b1" != "$b2" ] && [ -d /var/lib/vrf-resolver/setup ]
}

# The units' privileged ensure-loopback step logs both; whichever of the mgmt units runs it
# (the instance's ExecStartPre=+, or a unit of its own beside it), its name ends in @mgmt.
EL_UNITS='vrf-resolver*@mgmt.service'
ensure_loopback_at_boot() {
  ip addr show dev mgmt
  ip addr show dev mgmt | grep -q 'inet 127\.0\.0\.1/8' && ip addr show dev mgmt | grep -q 'inet6 ::1/128' &&
    rules_local_after_l3mdev &&
    journal_has "$EL_UNITS" '^loopback addresses added' && journal_has "$EL_UNITS" '^rule order fixed'
}

resolved_stays_off() {
  units_are inactive disabled "$R" || return 1
  ls -l /etc/resolv.conf
  cat /etc/resolv.conf
  [ ! -L /etc/resolv.conf ] && grep -q '^nameserver 127\.0\.0\.1$' /etc/resolv.conf
}

nsswitch_as_before() {
  grep '^hosts:' /etc/nsswitch.conf "$SEED_STATE/nsswitch.conf.before-setup"
  cmp /etc/nsswitch.conf "$SEED_STATE/nsswitch.conf.before-setup"
}

boot2() {
  check "boot 2 on boot 1's disk: systemd is PID 1, multi-user.target reached" systemd_up
  check "the disk is boot 1's (its notes and /var/lib/vrf-resolver/setup are there); setup is not run again" same_disk
  check "the persistent network configuration at boot: mgmt (table $SEED_TABLE), eth0 in it, the default route in table $SEED_TABLE" \
    seed_network_is_vrf
  check "vrf-resolver@mgmt and vrf-resolver@default enabled and started at boot" \
    wait_for 120 units_are active enabled "$UM" "$UD"
  check "ensure-loopback at boot added 127.0.0.1/8 and ::1/128 to mgmt and fixed the rule order (the network configuration does not)" \
    ensure_loopback_at_boot
  check "systemd-resolved stays stopped and disabled; /etc/resolv.conf still nameserver 127.0.0.1" resolved_stays_off
  check "after the reboot: ip vrf exec mgmt apt-get update works" apt_update_works mgmt
  check "after the reboot: dig from the default VRF @127.0.0.1: repo.lab.test" \
    expect_answer default 127.0.0.1 repo.lab.test A "$SEED_DNS"
  check "after the reboot: vrf-resolver doctor: exit 0" vr doctor-2 doctor

  check "vrf-resolver setup mgmt --undo: exit 0" vr undo setup mgmt --undo
  check "after --undo: /etc/resolv.conf is resolved's stub symlink again" resolv_conf_is_stub
  check "after --undo: nsswitch.conf byte-identical to the copy saved before setup in boot 1" nsswitch_as_before
  check "after --undo: systemd-resolved enabled and active again" \
    wait_for 60 units_are active enabled "$R"
  no_unit_links() {
    local left
    units_are inactive disabled "$UM" "$UD" || return 1
    left=$(find /etc/systemd/system -name 'vrf-resolver*' -type l -printf '    %p -> %l\n')
    echo "links to vrf-resolver units left in /etc/systemd/system: ${left:-none}"
    [ -z "$left" ]
  }
  check "after --undo: vrf-resolver@mgmt and @default inactive and disabled (no unit of ours enabled)" no_unit_links
  check "after --undo: the seed's failure again: ip vrf exec mgmt apt-get update fails to resolve" \
    apt_update_fails_to_resolve mgmt
}

if [ "${VRF_LAB_SEED_BOOT:-}" = 2 ]; then boot2; else boot1; fi
