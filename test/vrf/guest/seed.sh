#!/bin/bash
# The seed (scenario 5): a host as the user has it, booted twice with systemd as PID 1 on one
# persistent disk (run.mjs: VRF_LAB_SEED_BOOT=1, then 2; VRF_LAB_UPPER=disk makes init.sh put
# the overlay's upper layer on /dev/vda, so boot 2 sees what boot 1 wrote).
#
#   sourced by systemd-boot.sh    seed_prepare_root, before systemd: makes the seed's host in
#                                 boot 1, only checks for it in boot 2; the lab's own units
#   sourced by run-scenarios.sh   seed_world_ready, the setup check of the seed boots
#   sourced by scenario-5-seed.sh the seed's commands and network configuration
#   bash seed.sh world            vrf-lab-world.service: the world outside the host, every boot
#
# The world (outside the host; the lab makes it at every boot, before the host's network
# configuration runs; nothing of the lab's own topology_up):
#
#   the host (the guest's root netns)         netns up-mgmt: the admin network
#   eth0 10.53.0.10/24 ------- veth --------- eth0 10.53.0.1/24 (gateway), 10.53.0.2/24, fd53::2
#   default route via 10.53.0.1                 dnsmasq on 10.53.0.2: lab.test, repo.lab.test
#                                               busybox httpd on 10.53.0.2:80: the flat apt repo
#
# The host, as boot 1 makes it before systemd starts (the seed's starting point, a stock
# Debian host): eth0 in the default VRF (seed-network.service, a oneshot running
# /usr/local/sbin/seed-network), systemd-resolved and libnss-resolve installed from their
# Debian packages with dpkg -i (their maintainer scripts make /etc/resolv.conf the stub
# symlink and add `resolve` to nsswitch's hosts line, and enable resolved), resolved's
# server DNS=10.53.0.2 as static configuration (where DHCP would put it), vrf-resolver
# installed as `systemd/install.sh install` installs it, multi-user.target the default
# target. The scenario then runs the seed's own commands, which move eth0 into mgmt.

SEED_ADDR=10.53.0.10 # the host's eth0
SEED_GW=10.53.0.1
SEED_DNS=10.53.0.2 # DNS server and apt repository (repo.lab.test), as lib.sh's MGMT_UP_ADDR
SEED_DNS6=fd53::2
SEED_TABLE=1000
SEED_STATE=/var/lib/vrf-lab-seed # on the disk: what boot 1 leaves for boot 2 (the lab's notes)
SEED_NET_SCRIPT=/usr/local/sbin/seed-network
SEED_NET_UNIT=seed-network.service
SEED_STUB=../run/systemd/resolve/stub-resolv.conf # the symlink resolved's package makes

# ---- before systemd (systemd-boot.sh, PID 1) ----------------------------------------------

# seed_network_script plain|vrf: the host's network configuration, /usr/local/sbin/seed-network.
#   plain  the host before the seed: eth0 in the default VRF with the default route
#   vrf    the user's persistent configuration after the seed: the VRF, eth0 enslaved, its
#          address and the default route in table 1000. It does NOT move `lookup local` after
#          the l3mdev rule: at every boot vrf-resolver@mgmt's privileged ensure-loopback step
#          (FixRuleOrder=yes) does that, and adds 127.0.0.1/8 and ::1/128 to mgmt; boot 2
#          checks both came from there.
seed_network_script() {
  echo '#!/bin/sh'
  echo '# This host'"'"'s network: eth0 on the admin network (written by the VRF lab, seed scenario).'
  echo 'set -e'
  if [ "$1" = vrf ]; then
    echo "ip link add mgmt type vrf table $SEED_TABLE"
    echo 'ip link set mgmt up'
    echo 'ip link set eth0 master mgmt'
    echo 'ip link set eth0 up'
    echo "ip addr replace $SEED_ADDR/24 dev eth0"
    echo "ip route replace default via $SEED_GW dev eth0 table $SEED_TABLE"
  else
    echo 'ip link set eth0 up'
    echo "ip addr replace $SEED_ADDR/24 dev eth0"
    echo "ip route replace default via $SEED_GW dev eth0"
  fi
}

# The unit that runs it, as a network configuration service (ifupdown's networking.service,
# say) is ordered: after network-pre.target (the lab's world is made before it), before
# network.target (which the vrf-resolver units are After=).
seed_network_unit() {
  cat <<EOF
[Unit]
Description=Network configuration of this host (eth0, the admin network)
Wants=network.target
After=network-pre.target
Before=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$SEED_NET_SCRIPT

[Install]
WantedBy=multi-user.target
EOF
}

# systemd-resolved and libnss-resolve (VRF_LAB_RESOLVED_DIR: their .deb files, the host's
# systemd version, downloaded by run.mjs) with dpkg -i, their maintainer scripts included,
# before systemd runs: the postinst enables resolved (sysinit.target.wants), turns
# /etc/resolv.conf into the stub symlink (keeping the old file as .resolv.conf.systemd-
# resolved.bak) and adds `resolve [!UNAVAIL=return]` to nsswitch's hosts line. Nothing
# is started here (no /run/systemd/system yet); systemd starts resolved at boot.
seed_install_resolved() {
  local debs=("$VRF_LAB_RESOLVED_DIR"/*.deb) t0=$SECONDS
  [ -r "${debs[0]}" ] || { echo "no .deb files in $VRF_LAB_RESOLVED_DIR"; return 1; }
  # The one departure from a stock host: man-db's trigger (the packages bring man pages) would
  # run mandb over every man page of the host, through 9p, under TCG: minutes. Without this
  # file (debconf's man-db/auto-update=false) the trigger does nothing.
  rm -f /var/lib/man-db/auto-update
  if ! DEBIAN_FRONTEND=noninteractive dpkg -i "${debs[@]}" >/lab-io/logs/seed-dpkg.log 2>&1; then
    echo "dpkg -i ${debs[*]} failed:"
    tail -n 30 /lab-io/logs/seed-dpkg.log
    return 1
  fi
  echo "vrf-lab: seed: dpkg -i $(basename -a "${debs[@]}" | tr '\n' ' ')in $((SECONDS - t0)) s"
}

# Boot 1: the seed's host, on the fresh disk.
seed_make_host() {
  local l t0=$SECONDS
  [ ! -e "$SEED_STATE/boot-1" ] || { echo "the disk holds a seed host already ($SEED_STATE/boot-1)"; return 1; }
  # The host has udev and vrf-resolver (systemd/install.sh install) installed.
  copy_project || return 1
  echo "vrf-lab: seed: udev and the installed project copied in $((SECONDS - t0)) s"
  mask_lab_units || return 1
  # The host machine's own enabled units (its /etc/systemd/system/*.wants links, seen through
  # the overlay) are not this host's services: their links go (whiteouts on the disk).
  for l in "$UNITS"/*.wants/*; do
    if [ -L "$l" ]; then rm -f "$l" || return 1; fi
  done
  ln -sfn /lib/systemd/system/multi-user.target "$UNITS/default.target" || return 1
  # A real host, not a container: no policy-rc.d saying "start no service" (101).
  rm -f /usr/sbin/policy-rc.d
  echo vrf-seed >/etc/hostname
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tvrf-seed\n::1\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts

  seed_network_script plain >"$SEED_NET_SCRIPT" && chmod 0755 "$SEED_NET_SCRIPT" || return 1
  seed_network_unit >"$UNITS/$SEED_NET_UNIT" || return 1
  mkdir -p "$UNITS/multi-user.target.wants"
  ln -sfn "../$SEED_NET_UNIT" "$UNITS/multi-user.target.wants/$SEED_NET_UNIT" || return 1

  # The admin network's DNS server, as resolved's static configuration.
  mkdir -p /etc/systemd/resolved.conf.d
  printf '[Resolve]\nDNS=%s\n' "$SEED_DNS" >/etc/systemd/resolved.conf.d/50-admin-network.conf || return 1
  # /etc/resolv.conf as the host had it before resolved (what a DHCP client writes).
  rm -f /etc/resolv.conf
  printf 'nameserver %s\n' "$SEED_DNS" >/etc/resolv.conf || return 1
  seed_install_resolved || return 1

  mkdir -p "$SEED_STATE"
  date -u '+%Y-%m-%dT%H:%M:%SZ' >"$SEED_STATE/boot-1" || return 1
  sync
}

# The lab's own units, written at every boot (they are the lab's, not the host's):
#   vrf-lab-world.service  the world outside the host (`seed.sh world`), before
#                          network-pre.target, so eth0 exists when the host's network
#                          configuration runs
#   vrf-lab.service        the scenarios, after multi-user.target (the boot is complete)
#   multi-user.target.d/vrf-lab.conf   a boot that never reaches multi-user.target powers off
seed_lab_units() {
  lab_service_unit multi-user.target >"$UNITS/vrf-lab.service" || return 1
  printf '\n[Install]\nWantedBy=multi-user.target\n' >>"$UNITS/vrf-lab.service"
  cat >"$UNITS/vrf-lab-world.service" <<EOF || return 1
[Unit]
Description=VRF lab: the world outside the seed's host (the admin network: DNS, apt repository)
Wants=network-pre.target
Before=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/bash $GUEST/seed.sh world
TimeoutStartSec=180

[Install]
WantedBy=multi-user.target
EOF
  mkdir -p "$UNITS/multi-user.target.wants" "$UNITS/multi-user.target.d"
  ln -sfn ../vrf-lab.service "$UNITS/multi-user.target.wants/vrf-lab.service" || return 1
  ln -sfn ../vrf-lab-world.service "$UNITS/multi-user.target.wants/vrf-lab-world.service" || return 1
  printf '[Unit]\nJobTimeoutSec=400\nJobTimeoutAction=poweroff-force\n' >"$UNITS/multi-user.target.d/vrf-lab.conf"
}

seed_prepare_root() {
  # /run as an initramfs hands it over (systemd keeps a mounted /run): what dpkg's maintainer
  # scripts or anything else before systemd writes there stays off the disk.
  mountpoint -q /run || mount -t tmpfs -o mode=0755,nosuid,nodev,size=20% tmpfs /run || return 1
  case "${VRF_LAB_SEED_BOOT:-}" in
    1)
      echo "vrf-lab: seed boot 1: making the seed's host on the fresh disk"
      seed_make_host || return 1
      ;;
    2)
      [ -e "$SEED_STATE/boot-1" ] || { echo "the disk holds no seed host from boot 1 ($SEED_STATE/boot-1 missing)"; return 1; }
      echo "vrf-lab: seed boot 2: the disk of boot 1 ($(cat "$SEED_STATE/boot-1")); nothing of the host is set up again"
      ;;
    *)
      echo "VRF_LAB_SEED_BOOT=${VRF_LAB_SEED_BOOT:-} (want 1 or 2)"
      return 1
      ;;
  esac
  seed_lab_units
}

# ---- the world (vrf-lab-world.service) -----------------------------------------------------

seed_world() {
  # lib.sh: start_upstream_dns, make_repo, STATE and LOGDIR (logs/world.log).
  SCENARIO=world
  # shellcheck source=lib.sh
  . "$GUEST/lib.sh"
  local steps=(
    "ip netns add up-mgmt"
    # The host's end is named eth0 (the guest has no NIC): the seed's commands stay literal.
    "ip link add eth0 type veth peer name eth0 netns up-mgmt"
    "ip -n up-mgmt link set lo up"
    "ip -n up-mgmt addr add $SEED_GW/24 dev eth0"
    "ip -n up-mgmt addr add $SEED_DNS/24 dev eth0"
    "ip -n up-mgmt -6 addr add $SEED_DNS6/64 dev eth0 nodad"
    "ip -n up-mgmt link set eth0 up"
  ) c
  for c in "${steps[@]}"; do
    note "+ $c"
    $c >>"$LOG" 2>&1 || { say "vrf-lab world: failed: $c"; return 1; }
  done
  start_upstream_dns up-mgmt "$SEED_DNS" "$SEED_DNS6" mgmt 53
  rm -rf "$REPO_DIR" # made afresh at every boot, with the boot's date in its Release
  make_repo || return 1
  ip netns exec up-mgmt busybox httpd -f -p "$SEED_DNS:80" -h "$REPO_DIR" >>"$LOGDIR/httpd.out" 2>&1 &
  echo $! >"$STATE/httpd.pid"
  local i
  for i in $(seq 1 60); do
    if ip netns exec up-mgmt dig +short +time=1 +tries=1 "@$SEED_DNS" repo.lab.test A | grep -qx "$SEED_DNS"; then
      note "world up after $i tries"
      return 0
    fi
    sleep 0.5
  done
  say "vrf-lab world: the DNS server at $SEED_DNS did not come up"
  return 1
}

# The setup check of the seed boots (run-scenarios.sh): the world is there.
seed_world_ready() {
  unit_is vrf-lab-world.service active || return 1
  ip -br link show eth0 || return 1
  ip netns exec up-mgmt dig +short +time=5 +tries=2 "@$SEED_DNS" repo.lab.test A | grep -x "$SEED_DNS" &&
    ip netns exec up-mgmt busybox wget -q -O- "http://$SEED_DNS/Release" | head -n 3
}

# ---- the scenario's helpers ----------------------------------------------------------------

# The seed's own commands, one a line, each logged: the management VRF for eth0, the default
# route moved into its table, `lookup local` after the l3mdev rule (IPv4 and IPv6).
seed_commands() {
  local steps=(
    "ip link add mgmt type vrf table $SEED_TABLE"
    "ip link set mgmt up"
    "ip link set eth0 master mgmt"
    # Enslaving cycles eth0, which takes its routes out of the main table; the default
    # route goes into table 1000 (and out of main, should it still be there).
    "ip route replace default via $SEED_GW dev eth0 table $SEED_TABLE"
    "ip -4 rule add pref 32765 table local"
    "ip -4 rule del pref 0"
    "ip -6 rule add pref 32765 table local"
    "ip -6 rule del pref 0"
  ) c
  for c in "${steps[@]}"; do
    echo "+ $c"
    $c || { echo "failed: $c"; return 1; }
  done
  if ip route show default | grep -q .; then
    echo "+ ip route del default"
    ip route del default || return 1
  fi
  seed_network_is_vrf
}

# The host's network as the seed leaves it (live, or from the persistent configuration).
seed_network_is_vrf() {
  echo "\$ ip -d link show mgmt"; ip -d link show mgmt
  echo "\$ ip -br link show eth0"; ip -br link show eth0
  echo "\$ ip route show table $SEED_TABLE"; ip route show table "$SEED_TABLE"
  echo "\$ ip route show (main)"; ip route show
  ip -d link show mgmt | grep -q "vrf table $SEED_TABLE" &&
    ip link show eth0 | grep -q 'master mgmt' &&
    ip route show table "$SEED_TABLE" | grep -q "^default via $SEED_GW dev eth0" &&
    ip route show table "$SEED_TABLE" | grep -q "^10\.53\.0\.0/24 dev eth0" &&
    ! ip route show default | grep -q . &&
    ! ip route get "$SEED_DNS" >/dev/null 2>&1
}

# rules_local_after_l3mdev: `lookup local` at 32765, nothing at pref 0, IPv4 and IPv6.
rules_local_after_l3mdev() {
  local fam
  for fam in -4 -6; do
    echo "\$ ip $fam rule"; ip "$fam" rule
    ip "$fam" rule | grep -q '^0:' && return 1
    ip "$fam" rule | grep -q '^1000:.*l3mdev' || return 1
    ip "$fam" rule | grep -q '^32765:.*lookup local' || return 1
  done
  return 0
}

# seed_fingerprint: what a setup run may change, with sizes, mtimes and checksums.
seed_fingerprint() {
  local f
  for f in /etc/resolv.conf /etc/nsswitch.conf /etc/vrf-resolver/*.conf; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    if [ -L "$f" ]; then
      echo "$f -> $(readlink "$f")"
    else
      echo "$(stat -c '%n %s %y' "$f") $(sha256sum <"$f" | cut -c1-16)"
    fi
  done
  find /var/lib/vrf-resolver/setup -printf '%p %y %s %T@\n' 2>/dev/null | sort
  find /etc/systemd/system -path '*.wants/*' \( -name 'vrf-resolver@*' -o -name 'systemd-resolved*' \) \
    -printf '%p -> %l\n' 2>/dev/null | sort
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # shellcheck source=/dev/null
  . /lab-io/config.sh
  GUEST="$VRF_LAB_REPO/test/vrf/guest"
  case "${1:-}" in
    world) seed_world ;;
    *)
      echo "usage: seed.sh world" >&2
      exit 2
      ;;
  esac
fi
