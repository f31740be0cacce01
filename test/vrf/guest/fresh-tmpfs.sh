# Sourced by stage2.sh and systemd-boot.sh. fresh_tmpfs DIR mounts a tmpfs of the guest's own on
# DIR (/tmp, /var/tmp: the host's must not show through the overlay) and binds the lab's own
# paths that live under DIR back in place first, so a checkout cloned under /tmp or /var/tmp,
# with its .cache/vrf-lab (kernel modules, udev, the installed project, the seed's resolved
# packages), stays visible.
fresh_tmpfs() {
  local dir=$1 keep=() p i stage=/dev/.vrf-lab-keep
  for p in "$VRF_LAB_REPO" "${VRF_LAB_KTREE:-}" "${VRF_LAB_UDEV_TREE:-}" "${VRF_LAB_INSTALL_ROOT:-}" "${VRF_LAB_RESOLVED_DIR:-}"; do
    [ -n "$p" ] || continue
    case "$p/" in "$dir"/*) keep+=("$p") ;; esac
  done
  for i in "${!keep[@]}"; do
    mkdir -p "$stage/$i" && mount --bind "${keep[$i]}" "$stage/$i" || return 1
  done
  mount -t tmpfs -o mode=1777 tmpfs "$dir" || return 1
  for i in "${!keep[@]}"; do
    mkdir -p "${keep[$i]}" && mount --move "$stage/$i" "${keep[$i]}" || return 1
  done
  [ ${#keep[@]} -eq 0 ] || echo "vrf-lab: $dir is the guest's own; kept from the host: ${keep[*]}"
}
