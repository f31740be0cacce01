#!/bin/bash
# vrf-lab-boot: systemd
# vrf-lab-needs: deb
# Scenario 8: the Debian package, with apt alone, under systemd (PID 1), in the guest's overlay
# (never on the host). run.mjs builds vrf-resolver_VERSION_ARCH.deb on the host once (or takes
# CI's, VRF_RESOLVER_DEB) and names it in VRF_LAB_DEB.
#
#   the install from the checkout (install.sh, which this boot copies in for scenarios 4 and 7)
#   uninstalled first; apt-get install ./vrf-resolver_*.deb: nothing enabled or started, the
#   units from /usr/lib/systemd/system running /usr/bin/vrf-resolver, the conffile; man
#   vrf-resolver and man vrf-resolver.conf (every key); systemctl enable --now vrf-resolver@mgmt
#   answers inside mgmt; the same package installed again (apt-get install --reinstall: dpkg's
#   upgrade path) restarts the running instance (a new MainPID), which stays enabled and
#   answers; apt-get remove stops and disables it and keeps /etc/vrf-resolver; apt-get purge
#   leaves no unit, file, link or user behind.
#
# The host's policy-rc.d (101 on a build host: start nothing) is taken away in the overlay, as
# on a real host, and so is man-db's auto-update flag, or its trigger would rebuild the index of
# every man page of the host over 9p (minutes under TCG; `man NAME` finds the page without it).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

U='vrf-resolver@mgmt.service'
N='vrf-resolver-net@mgmt.service'
DEB=${VRF_LAB_DEB:-}
APT_TIMEOUT=${VRF_LAB_APT_TIMEOUT:-600}
export DEBIAN_FRONTEND=noninteractive

apt_get() { timeout "$APT_TIMEOUT" apt-get -y -q -o Dpkg::Use-Pty=0 "$@"; }

# Ours, wherever a package or an operator would leave something (the repository is elsewhere).
# (/run/systemd is systemd's own bookkeeping; list-units says what it still knows.)
leftovers() {
  find /etc /run /var/lib /usr/lib/systemd /usr/share/man /usr/share/doc /usr/share/lintian /usr/bin /usr/local -maxdepth 4 \
    -path /run/systemd -prune -o -name '*vrf-resolver*' -print 2>/dev/null
  find /usr/lib -maxdepth 1 -name 'vrf-resolver*' 2>/dev/null
}
units_loaded() { sctl list-units --all --plain --no-legend 'vrf-resolver*' 'vrf-resolver-net*' | grep -v '^$'; }

checkout_install_gone() {
  [ -f "$DEB" ] || { echo "no package: VRF_LAB_DEB=${DEB:-(unset)}"; return 1; }
  sh "$VRF_LAB_REPO/systemd/install.sh" uninstall --purge || return 1
  rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update
  sctl daemon-reload || return 1
  # install.sh leaves the runtime directory (RuntimeDirectoryPreserve=; DynamicUser= keeps it
  # in /run/private; gone at the next boot).
  rm -rf /run/vrf-resolver /run/private/vrf-resolver
  local left
  left=$(leftovers)
  echo "left: ${left:-nothing}"
  [ -z "$left" ] && [ -z "$(units_loaded | grep -E ' (active|activating) ')" ]
}
check "the checkout's install (install.sh) uninstalled first: nothing of vrf-resolver left" checkout_install_gone

installed() {
  local t0=$SECONDS
  apt_get install "$DEB" || return 1
  echo "apt-get install took $((SECONDS - t0)) s"
  dpkg-query -W -f='${Package} ${Version} ${Status}\n' vrf-resolver
  [ "$(dpkg-query -W -f='${Status}' vrf-resolver)" = 'install ok installed' ] &&
    dpkg-query -W -f='${Conffiles}\n' vrf-resolver | grep -q '^ /etc/vrf-resolver/vrf-resolver.conf.example [0-9a-f]\{32\}$' &&
    [ -x /usr/bin/vrf-resolver ] && /usr/bin/vrf-resolver --version
}
check "apt-get install ./vrf-resolver_*.deb: installed, the example configuration a conffile" installed

nothing_started() {
  units_loaded
  local links
  links=$(find /etc/systemd/system -path '*.wants/vrf-resolver*' 2>/dev/null)
  echo "enabled links: ${links:-none}"
  [ -z "$links" ] && [ -z "$(units_loaded | grep -E ' (active|activating) ')" ]
}
check "installing enabled and started nothing" nothing_started

# systemd 252 names /lib/systemd/system, the merged-/usr alias it searches first: the same file.
fragment() { realpath "$(uprop "$1" FragmentPath)"; }
package_units() {
  local e
  e=$(uprop "$U" ExecStart)
  echo "$U: FragmentPath=$(uprop "$U" FragmentPath) ($(fragment "$U")) ExecStart=$e Documentation=$(uprop "$U" Documentation)"
  [ "$(fragment "$U")" = /usr/lib/systemd/system/vrf-resolver@.service ] && grep -q 'path=/usr/bin/vrf-resolver ' <<<"$e" &&
    [ "$(fragment "$N")" = /usr/lib/systemd/system/vrf-resolver-net@.service ] &&
    [ "$(fragment vrf-resolver@default.service)" = /usr/lib/systemd/system/vrf-resolver@default.service ]
}
check "the package's units load from /usr/lib/systemd/system and run /usr/bin/vrf-resolver" package_units

man_pages() {
  local page8 page5 key missing=
  man -w vrf-resolver vrf-resolver.conf || return 1
  page8=$(MANWIDTH=100 timeout 120 man -P cat vrf-resolver 2>&1) || return 1
  page5=$(MANWIDTH=100 timeout 120 man -P cat vrf-resolver.conf 2>&1) || return 1
  head -n 12 <<<"$page8"
  for key in run check-config setup doctor status statistics flush-caches log-level query ensure-loopback; do
    grep -q "^   $key\$" <<<"$page8" || missing="$missing $key"
  done
  for key in $(sed -n 's/^#\([A-Za-z0-9]*\)=.*/\1/p' /etc/vrf-resolver/vrf-resolver.conf.example); do
    grep -q "^       $key=" <<<"$page5" || missing="$missing $key="
  done
  echo "missing:${missing:- nothing} ($(grep -c '^#[A-Za-z0-9]*=' /etc/vrf-resolver/vrf-resolver.conf.example) keys)"
  [ -z "$missing" ]
}
check "man vrf-resolver shows every command, man vrf-resolver.conf every key" man_pages

mkdir -p /etc/vrf-resolver
# CacheMinTTLSec=: the lab's dnsmasq answers with TTL 0.
printf '[Resolve]\nDNS=%s\nCacheMinTTLSec=600\n' "$MGMT_UP_ADDR" >/etc/vrf-resolver/mgmt.conf
chmod 0644 /etc/vrf-resolver/mgmt.conf

enabled_and_running() {
  sctl enable --now "$U" || return 1
  wait_for 120 unit_is "$U" active running || return 1
  [ "$(sctl is-enabled "$U")" = enabled ] && [ "$(sctl is-enabled "$N")" = enabled ]
}
check "systemctl enable --now $U (and its companion, Also=)" enabled_and_running

answers() {
  expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53 || return 1
  expect_answer mgmt ::1 which.lab.test TXT '"upstream=mgmt"' +tcp || return 1
  timeout 60 vrf-resolver status mgmt
}
check "the mgmt scenario: answers inside mgmt on 127.0.0.1 and ::1 (TCP); vrf-resolver status mgmt" answers

main_pid=$(uprop "$U" MainPID)
upgraded() {
  local t0=$SECONDS now
  apt_get install --reinstall "$DEB" || return 1
  echo "apt-get install --reinstall took $((SECONDS - t0)) s"
  wait_for 120 unit_is "$U" active running || return 1
  now=$(uprop "$U" MainPID)
  echo "MainPID before $main_pid, after $now; is-enabled $(sctl is-enabled "$U")"
  [ "$now" != "$main_pid" ] && [ "$(sctl is-enabled "$U")" = enabled ] && [ -f /etc/vrf-resolver/mgmt.conf ] &&
    expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53
}
check "the same package installed again (the upgrade path): the running instance restarted, still enabled, answering" upgraded

removed() {
  apt_get remove vrf-resolver || return 1
  dpkg-query -W -f='${Status}\n' vrf-resolver
  local links
  links=$(find /etc/systemd/system -path '*.wants/vrf-resolver*' 2>/dev/null)
  echo "enabled links: ${links:-none}; loaded units:"
  units_loaded
  [ "$(dpkg-query -W -f='${Status}' vrf-resolver)" = 'deinstall ok config-files' ] && [ -z "$links" ] &&
    [ -z "$(units_loaded | grep -E ' (active|activating) ')" ] && ! pgrep -f 'vrf-resolver/dist/main.js' &&
    [ ! -e /usr/bin/vrf-resolver ] && [ -f /etc/vrf-resolver/mgmt.conf ] && [ ! -e /run/private/vrf-resolver ] &&
    [ "$(dns_query mgmt 127.0.0.1 which.lab.test A +time=2 +tries=1 | head -n1)" = NOREPLY ]
}
check "apt-get remove: every instance stopped and disabled, nothing answers in mgmt, /etc/vrf-resolver kept" removed

purged() {
  apt_get purge vrf-resolver || return 1
  sctl daemon-reload
  local left users
  left=$(leftovers)
  users=$(getent passwd | grep -i vrf)
  echo "left: ${left:-nothing}; users: ${users:-none}; loaded units:"
  units_loaded
  ! dpkg-query -W -f='${Status}' vrf-resolver 2>/dev/null | grep -q installed && [ -z "$left" ] && [ -z "$users" ] &&
    [ -z "$(units_loaded)" ] && [ -z "$(sctl list-unit-files --plain --no-legend 'vrf-resolver*')" ]
}
check "apt-get purge: no unit, file, link or user of vrf-resolver left" purged
