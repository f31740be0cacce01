#!/bin/bash
# PID 1 of the VRF lab's systemd boot, between init.sh's switch_root and systemd: prepares
# the guest's overlay root (writes stay in the guest's tmpfs) and execs /lib/systemd/systemd,
# which stays PID 1. run.mjs boots this way for the scenarios marked "vrf-lab-boot: systemd".
#
#   - vrf, veth and the sock_diag modules (busybox modprobe: the lab's modules.dep is busybox
#     depmod's)
#   - udev, unpacked by run.mjs from Debian's udev package matching the host's systemd
#     (VRF_LAB_UDEV_TREE): the host need not have it, and without systemd-udevd no device
#     unit appears, so vrf-resolver@NAME (BindsTo=sys-subsystem-net-devices-NAME.device) and
#     the socket's BindToDevice= would wait for a device that never shows up
#   - the project as `systemd/install.sh install` installs it, run by run.mjs on the host with
#     DESTDIR=VRF_LAB_INSTALL_ROOT: /usr/local/lib/vrf-resolver, /usr/local/bin/vrf-resolver,
#     the units in /etc/systemd/system, /etc/vrf-resolver
#   - vrf-lab.target as default.target: basic.target plus vrf-lab.service (systemd-scenarios.sh),
#     which powers the VM off when it ends; nothing of multi-user.target (gettys, the host's
#     enabled services) is started, and units that only cost time under TCG are masked.
#
# The seed scenario's two boots (VRF_LAB_SEED_BOOT=1 or 2; the upper layer is a disk) go
# another way after the kernel modules and /tmp: seed.sh's seed_prepare_root makes the seed's
# host in boot 1 (and only checks it in boot 2), they reach the real multi-user.target, and
# /etc/resolv.conf is left to systemd-resolved.

set -u
# shellcheck source=/dev/null
. /lab-io/config.sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
GUEST="$VRF_LAB_REPO/test/vrf/guest"
UNITS=/etc/systemd/system
# shellcheck source=fresh-tmpfs.sh
. "$GUEST/fresh-tmpfs.sh"

fatal() {
  echo "vrf-lab: FATAL: $*"
  echo 97 >/lab-io/exit-code
  sync
  busybox poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger
  sleep 30
}

# copy_tree DIR: DIR's contents into /, keeping /lib, /bin, /sbin as the symlinks into /usr
# they are (merged /usr), and the metadata of directories that exist already.
copy_tree() {
  tar -C "$1" -cf - . | tar -C / -xpf - --keep-directory-symlink --no-overwrite-dir
}

# The udev tree and the installed project into the root (the systemd boot; the seed's boot 1).
copy_project() {
  [ -x "$VRF_LAB_UDEV_TREE/bin/udevadm" ] || { echo "no udev tree at $VRF_LAB_UDEV_TREE"; return 1; }
  copy_tree "$VRF_LAB_UDEV_TREE" || { echo "copy udev into the root failed"; return 1; }
  [ -d "$VRF_LAB_INSTALL_ROOT/usr/local/lib/vrf-resolver" ] || { echo "no install root at $VRF_LAB_INSTALL_ROOT"; return 1; }
  copy_tree "$VRF_LAB_INSTALL_ROOT" || { echo "copy the installed project into the root failed"; return 1; }
}

# Masked: the host's enabled services and timers (timers.target: apt-daily & co., which
# Persistent= would start at once), gettys (they wait for dev-ttyS0.device), and the
# ConditionNeedsUpdate= jobs that the overlay's fresh /etc would trigger (hwdb, ldconfig).
mask_lab_units() {
  local u
  for u in timers.target getty.target serial-getty@ttyS0.service getty@tty1.service \
    systemd-timesyncd.service systemd-pstore.service systemd-firstboot.service \
    systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service \
    systemd-update-done.service systemd-sysusers.service systemd-repart.service \
    unbound.service nsd.service kresd.target kres-cache-gc.service postgresql.service \
    e2scrub_reap.service; do
    ln -sfn /dev/null "$UNITS/$u" || return 1
  done
}

# lab_service_unit AFTER...: vrf-lab.service, which runs systemd-scenarios.sh once the units
# named are up. Type=exec: the unit is started once the script runs. SuccessAction and
# FailureAction power the VM off however it ends; RuntimeMaxSec bounds it in the guest too.
lab_service_unit() {
  cat <<EOF
[Unit]
Description=VRF lab scenarios ($VRF_LAB_SCENARIOS)
After=$* systemd-udevd.service systemd-udev-trigger.service systemd-journald.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=exec
ExecStart=/bin/bash $GUEST/systemd-scenarios.sh
Environment=HOME=/root LANG=C.UTF-8 TERM=linux
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
# ip vrf exec puts processes into sub-cgroups of this unit's cgroup.
Delegate=yes
RuntimeMaxSec=${VRF_LAB_GUEST_TIMEOUT:-800}
TimeoutStopSec=20
EOF
}

echo "vrf-lab: guest kernel $(uname -r), preparing the root for systemd"
# *_diag: ss asks the kernel (sock_diag) for each socket's bound device; without them it falls
# back to /proc/net/*, which has none (the kernel's autoload runs kmod's modprobe, which cannot
# read busybox's modules.dep).
for m in vrf veth inet_diag tcp_diag udp_diag; do
  busybox modprobe "$m" || fatal "modprobe $m"
done

# The guest's own /tmp and /var/tmp (the host's show through the overlay otherwise, and
# systemd-tmpfiles-setup would spend ~20 s under TCG emptying the host's /tmp in the overlay).
fresh_tmpfs /tmp || fatal "mount /tmp"
fresh_tmpfs /var/tmp || fatal "mount /var/tmp"

if [ -n "${VRF_LAB_SEED_BOOT:-}" ]; then
  # shellcheck source=seed.sh
  . "$GUEST/seed.sh"
  seed_prepare_root || fatal "preparing the seed's root (boot $VRF_LAB_SEED_BOOT)"
  echo "vrf-lab: exec /lib/systemd/systemd (seed boot $VRF_LAB_SEED_BOOT)"
  # shellcheck disable=SC2093 # exec'd on purpose; the line after it only runs if exec fails
  exec /lib/systemd/systemd
  fatal "exec /lib/systemd/systemd failed"
fi

copy_project || fatal "copy the project into the root"

echo vrf-lab >/etc/hostname
printf '127.0.0.1\tlocalhost vrf-lab\n::1\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts
rm -f /etc/resolv.conf
printf 'nameserver 127.0.0.1\noptions timeout:3 attempts:2\n' >/etc/resolv.conf

mask_lab_units || fatal "mask the units the lab does without"

cat >"$UNITS/vrf-lab.target" <<EOF
[Unit]
Description=VRF lab: scenarios under systemd
Requires=basic.target
After=basic.target
Wants=vrf-lab.service
AllowIsolate=yes
# A boot that never gets here (a unit waiting for a device, say) powers off, not the host's timeout.
JobTimeoutSec=300
JobTimeoutAction=poweroff-force
EOF

# The target (and the boot) is reached once the script runs (Type=exec).
lab_service_unit basic.target >"$UNITS/vrf-lab.service"
ln -sfn vrf-lab.target "$UNITS/default.target"

echo "vrf-lab: exec /lib/systemd/systemd"
# shellcheck disable=SC2093 # exec'd on purpose; the line after it only runs if exec fails
exec /lib/systemd/systemd
fatal "exec /lib/systemd/systemd failed"
