#!/bin/sh
# PID 1 of the VRF lab's initramfs (busybox sh). It builds the guest's root filesystem and
# hands over to the real system with switch_root:
#
#   /lower    the host's root, shared read-only over 9p (tag hostroot)
#   /upper    a tmpfs, so the guest can write /etc, /var, ... without touching the host; or,
#             when config.sh says VRF_LAB_UPPER=disk (the seed scenario's two boots), the ext4
#             disk /dev/vda that run.mjs made, so what one boot writes is there in the next
#   /newroot  overlay of the two: the guest's root after switch_root
#   /newroot/lab-io   a read-write 9p share (tag labio): config in, results and logs out
#
# What runs after switch_root is $VRF_LAB_INIT from /lab-io/config.sh, by default
# test/vrf/guest/stage2.sh (bash). A later scenario can set it to /lib/systemd/systemd.
# Any failure here powers the VM off, which ends qemu; the host then reports the console log.

/bin/busybox --install -s /bin
export PATH=/bin

die() {
  echo "vrf-lab init: FATAL: $*"
  echo "vrf-lab init: FATAL: $*" >/dev/console 2>/dev/null
  sync
  poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger
  exit 1
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || die "insmod $m"
done

P9='trans=virtio,version=9p2000.L,msize=512000'
mount -t 9p -o "$P9,ro,cache=loose" hostroot /lower || die "mount the host root (9p tag hostroot)"
# The config first: it says what the upper layer is.
mkdir -p /lab-io
mount -t 9p -o "$P9" labio /lab-io || die "mount the results share (9p tag labio)"
[ -r /lab-io/config.sh ] || die "no /lab-io/config.sh from the host"
. /lab-io/config.sh

if [ "${VRF_LAB_UPPER:-tmpfs}" = disk ]; then
  for m in $(cat /modules/order-disk); do
    insmod "/modules/$m.ko" || die "insmod $m"
  done
  i=0
  while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  [ -b /dev/vda ] || die "no /dev/vda: the upper layer's disk is missing (qemu -drive)"
  mount -t ext4 -o noatime /dev/vda /upper || die "mount the upper layer's disk (/dev/vda, ext4)"
  echo "vrf-lab init: upper layer on /dev/vda (ext4): $(ls /upper/upper 2>/dev/null | wc -l) entries from earlier boots"
else
  mount -t tmpfs -o mode=0755,size=80% tmpfs /upper || die "mount the overlay's tmpfs"
fi
mkdir -p /upper/upper /upper/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/upper,workdir=/upper/work /newroot ||
  die "mount the overlay root"

mkdir -p /newroot/lab-io
mount --move /lab-io /newroot/lab-io || die "move the results share into the new root"

# The guest kernel's modules live in the lab cache, visible through the shared root; the
# host's /lib/modules, if any, belongs to another kernel. Linked before switch_root so that
# whatever runs next (stage2.sh, or systemd) finds them with plain modprobe.
rm -rf "/newroot/usr/lib/modules/$VRF_LAB_KVER"
mkdir -p /newroot/usr/lib/modules
ln -s "$VRF_LAB_KTREE/lib/modules/$VRF_LAB_KVER" "/newroot/usr/lib/modules/$VRF_LAB_KVER" ||
  die "link the guest kernel's modules"

# The host may be a container; systemd (a later scenario) would believe it is one too.
rm -f /newroot/.dockerenv /newroot/run/.containerenv

for d in proc sys dev; do
  mount --move "/$d" "/newroot/$d" || die "move /$d into the new root"
done

INIT="${VRF_LAB_INIT:-/bin/bash $VRF_LAB_REPO/test/vrf/guest/stage2.sh}"
echo "vrf-lab init: root is ready, switch_root to: $INIT"
# shellcheck disable=SC2086 # INIT is a command line on purpose
exec switch_root /newroot $INIT
die "switch_root failed"
