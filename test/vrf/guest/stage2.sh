#!/bin/bash
# PID 1 of the VRF lab guest after switch_root (see init.sh). The root is the host's root
# with a tmpfs overlay, so every binary the host has is here, but writes stay in the guest.
#
# Sets up the base system (mounts, kernel modules of the guest kernel, resolv.conf), then:
#   VRF_LAB_MODE=test  runs the scenarios (run-scenarios.sh), writes /lab-io/exit-code
#   VRF_LAB_MODE=lab   brings the topology up and gives an interactive shell on the console
# and powers the VM off, which ends qemu.

set -u
# shellcheck source=/dev/null
. /lab-io/config.sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM="${TERM:-linux}"
# shellcheck source=fresh-tmpfs.sh
. "$VRF_LAB_REPO/test/vrf/guest/fresh-tmpfs.sh"
GUEST="$VRF_LAB_REPO/test/vrf/guest"

poweroff_now() {
  sync
  busybox poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger
  sleep 30
}

base_setup() {
  mount -t tmpfs -o mode=0755 tmpfs /run || return 1
  fresh_tmpfs /tmp || return 1
  mkdir -p /dev/pts /dev/shm /sys/fs/cgroup
  mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || return 1
  mount -t tmpfs -o mode=1777 tmpfs /dev/shm || return 1
  # `ip vrf exec` attaches a BPF program to a cgroup: it needs cgroup2 here.
  mount -t cgroup2 cgroup2 /sys/fs/cgroup || return 1
  # /var/run and /var/tmp on the host may point at host state: give the guest its own.
  fresh_tmpfs /var/tmp || return 1

  # /usr/lib/modules/KVER links to the guest kernel's modules in the lab cache (init.sh).
  # *_diag: ss asks the kernel (sock_diag) for each socket's bound device, and doctor reads it
  # from ss; without them ss falls back to /proc/net, which has none. The kernel's autoload
  # cannot load them here (its modprobe cannot read busybox's modules.dep); on a host it does.
  for m in vrf veth inet_diag tcp_diag udp_diag; do
    busybox modprobe "$m" || { echo "vrf-lab: modprobe $m failed"; return 1; }
  done

  hostname vrf-lab
  echo vrf-lab >/etc/hostname
  printf '127.0.0.1\tlocalhost vrf-lab\n::1\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts
  rm -f /etc/resolv.conf
  printf 'nameserver 127.0.0.1\noptions timeout:3 attempts:2\n' >/etc/resolv.conf
  ip link set lo up
  return 0
}

main() {
  echo "vrf-lab: guest kernel $(uname -r), mode $VRF_LAB_MODE"
  if ! base_setup; then
    echo "vrf-lab: FATAL: base setup failed"
    echo 99 >/lab-io/exit-code
    return
  fi
  case "$VRF_LAB_MODE" in
    test)
      bash "$GUEST/run-scenarios.sh"
      echo $? >/lab-io/exit-code
      ;;
    lab)
      bash "$GUEST/lab-shell.sh"
      echo 0 >/lab-io/exit-code
      ;;
    *)
      echo "vrf-lab: unknown mode $VRF_LAB_MODE"
      echo 98 >/lab-io/exit-code
      ;;
  esac
}

main
poweroff_now
