#!/bin/sh
# Installs or removes vrf-resolver on Debian/Ubuntu, from a built checkout (npm ci done).
#
#   sudo systemd/install.sh install         copy to /usr/local/lib/vrf-resolver, link
#                                           /usr/local/bin/vrf-resolver, units to /etc/systemd/system
#   sudo systemd/install.sh socket NAME     socket activation for VRF NAME: the device drop-in,
#                                           then systemctl enable --now vrf-resolver@NAME.socket
#   sudo systemd/install.sh uninstall       stop and disable every instance, remove all of it but
#                                           the configuration in /etc/vrf-resolver (--purge: that too)
#
# DESTDIR=/some/root installs under that root and runs no systemctl (packaging, tests).
# Needs: Node.js >= 20.17 as /usr/bin/node or /usr/local/bin/node (the units find it through the
# "#!/usr/bin/env node" line, on systemd's fixed PATH), iproute2, and the built checkout.
set -eu

DESTDIR=${DESTDIR:-}
LIBDIR=/usr/local/lib/vrf-resolver
BINLINK=/usr/local/bin/vrf-resolver
UNITDIR=/etc/systemd/system
CONFDIR=/etc/vrf-resolver
UNITS='vrf-resolver@.service vrf-resolver@default.service vrf-resolver-net@.service vrf-resolver@.socket vrf-resolver@default.socket'
SRC=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
# systemctl only on a live systemd host, never under DESTDIR.
have_systemd() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; }

need_root() {
  [ -n "$DESTDIR" ] || [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $*)"
}

check_node() {
  command -v node >/dev/null 2>&1 || die "node not found: install Node.js >= 20.17 (apt-get install nodejs)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' ||
    die "Node.js $(node --version) is too old: vrf-resolver needs >= 20.17"
  case $(command -v node) in
    /usr/bin/node|/usr/local/bin/node|/bin/node) ;;
    *) say "warning: node is $(command -v node); the units look on systemd's PATH (/usr/local/bin, /usr/bin): link it there" ;;
  esac
}

do_install() {
  need_root install
  check_node
  [ -f "$SRC/dist/main.js" ] || die "$SRC/dist/main.js missing: run npm ci in $SRC first"
  [ -f "$SRC/build/native/Release/vrf_socket.node" ] || die "the native helper is not built: run npm ci in $SRC first"
  command -v ip >/dev/null 2>&1 || say "warning: ip (iproute2) not found; ensure-loopback needs it: apt-get install iproute2"

  # Stage next to the old copy, then swap, so a failed copy leaves the old install working.
  stage="$DESTDIR$LIBDIR.new"
  rm -rf "$stage"
  mkdir -p "$stage/build/native/Release"
  cp -R "$SRC/dist" "$SRC/systemd" "$SRC/node_modules" "$stage/"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$stage/"
  cp "$SRC/build/native/Release/vrf_socket.node" "$stage/build/native/Release/"
  # Runtime dependencies only; offline (prunes the copied node_modules), no lifecycle scripts.
  (cd "$stage" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null) ||
    die "npm prune failed in $stage"
  chmod -R u=rwX,go=rX "$stage"
  chmod 0755 "$stage/dist/main.js"
  rm -rf "$DESTDIR$LIBDIR"
  mv "$stage" "$DESTDIR$LIBDIR"

  mkdir -p "$DESTDIR$(dirname "$BINLINK")"
  ln -sfn ../lib/vrf-resolver/dist/main.js "$DESTDIR$BINLINK"
  mkdir -p "$DESTDIR$UNITDIR"
  for u in $UNITS; do install -m 0644 "$SRC/systemd/$u" "$DESTDIR$UNITDIR/$u"; done
  # Configuration is read by the service's dynamic user: the directory and files world-readable.
  mkdir -p "$DESTDIR$CONFDIR"
  chmod 0755 "$DESTDIR$CONFDIR"

  if have_systemd; then
    systemctl daemon-reload
    systemctl try-restart 'vrf-resolver@*.service' || true # an upgrade: running instances pick it up
  fi
  say "installed $("$DESTDIR$BINLINK" --version 2>/dev/null || echo vrf-resolver) in $LIBDIR"
  say "next: write $CONFDIR/NAME.conf ([Resolve] DNS=...), then: systemctl enable --now vrf-resolver@NAME"
}

do_socket() {
  need_root socket
  name=${1:-}
  [ -n "$name" ] || die "usage: $0 socket NAME (the VRF device, or default)"
  if [ "$name" != default ]; then
    dir="$DESTDIR$UNITDIR/vrf-resolver@$name.socket.d"
    mkdir -p "$dir"
    printf '# Written by vrf-resolver install.sh: BindToDevice= takes no specifiers.\n[Socket]\nBindToDevice=%s\n' "$name" \
      >"$dir/device.conf"
    chmod 0644 "$dir/device.conf"
  fi
  if have_systemd; then
    systemctl daemon-reload
    systemctl enable --now "vrf-resolver@$name.socket"
  fi
  say "socket activation for $name: vrf-resolver@$name.socket"
}

do_uninstall() {
  need_root uninstall
  purge=${1:-}
  if have_systemd; then
    # Every instance ever enabled has a link in some .wants directory; loaded ones stop by pattern.
    systemctl stop 'vrf-resolver@*.socket' 'vrf-resolver@*.service' 2>/dev/null || true
    for link in $(find "$UNITDIR" -path '*.wants/vrf-resolver@*' -o -path '*.wants/vrf-resolver-net@*' 2>/dev/null); do
      systemctl disable "$(basename "$link")" 2>/dev/null || true
    done
  fi
  find "$DESTDIR$UNITDIR" \( -path '*.wants/vrf-resolver@*' -o -path '*.wants/vrf-resolver-net@*' \) -exec rm -f {} + 2>/dev/null || true
  for u in $UNITS; do rm -f "$DESTDIR$UNITDIR/$u"; done
  rm -rf "$DESTDIR$UNITDIR"/vrf-resolver@*.d
  rm -f "$DESTDIR$BINLINK"
  rm -rf "$DESTDIR$LIBDIR" "$DESTDIR$LIBDIR.new"
  # The runtime directory (control sockets), which RuntimeDirectoryPreserve= keeps across
  # restarts and so also after the last stop; DynamicUser= makes it a link to /run/private
  # (systemd/deb/postrm removes the same two).
  rm -rf "$DESTDIR/run/vrf-resolver" "$DESTDIR/run/private/vrf-resolver"
  if [ "$purge" = --purge ]; then rm -rf "$DESTDIR$CONFDIR"; else say "kept the configuration in $CONFDIR (--purge removes it)"; fi
  have_systemd && systemctl daemon-reload
  say "uninstalled; loopback addresses added to VRF devices stay (ip addr del 127.0.0.1/8 dev NAME)"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  install) do_install ;;
  socket) do_socket "$@" ;;
  uninstall) do_uninstall "$@" ;;
  *) die "usage: $0 install | socket NAME | uninstall [--purge]" ;;
esac
