#!/bin/bash
# vrf-lab-boot: systemd
# Scenario 4: vrf-resolver@mgmt as a systemd service, with systemd as PID 1 (run.mjs boots the
# VM a second time for this: systemd-boot.sh). The units are those `systemd/install.sh
# install` put in place (run with DESTDIR on the host, copied into the guest's root).
#   start without loopback addresses on mgmt (ensure-loopback adds them), Type=notify READY,
#   DNS inside mgmt, the unit's own cgroup and sandbox, the journal and its -p filter,
#   reload (good and broken config), watchdog restart after SIGSTOP, stop; socket activation
#   with the drop-in `install.sh socket mgmt` writes, and mgmt re-created under it (the service
#   stops itself, the socket listens again); vrf-resolver@default beside the mgmt
#   instance; and the VRF device deleted and created again: the process follows it (no
#   BindsTo=), vrf-resolver-net@mgmt adds the loopbacks again, the cache survives.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

U='vrf-resolver@mgmt.service'
S='vrf-resolver@mgmt.socket'
D='vrf-resolver@default.service'
N='vrf-resolver-net@mgmt.service'
DEV=sys-subsystem-net-devices-mgmt.device
CONF=/etc/vrf-resolver

systemd_runs() {
  echo "PID 1: $(cat /proc/1/comm); system state: $(sctl is-system-running)"
  [ "$(cat /proc/1/comm)" = systemd ] &&
    unit_is vrf-lab.target active &&
    unit_is systemd-journald.service active running &&
    unit_is systemd-udevd.service active running
}
check "systemd is PID 1; journald and udevd run" systemd_runs

check "udev: the mgmt VRF's device unit ($DEV) is active" wait_for 60 unit_is "$DEV" active

units_installed() {
  /usr/local/bin/vrf-resolver --version || return 1
  ls -l /usr/local/bin/vrf-resolver /etc/systemd/system/vrf-resolver@*
  local f
  f=$(uprop "$U" FragmentPath)
  echo "$U: FragmentPath=$f BindsTo=$(uprop "$U" BindsTo) After=$(uprop "$U" After) Wants=$(uprop "$U" Wants) WatchdogUSec=$(uprop "$U" WatchdogUSec)"
  [ "$f" = /etc/systemd/system/vrf-resolver@.service ] || return 1
  f=$(uprop "$D" FragmentPath)
  echo "$D: FragmentPath=$f"
  [ "$f" = /etc/systemd/system/vrf-resolver@default.service ] || return 1
  f=$(uprop "$N" FragmentPath)
  echo "$N: FragmentPath=$f"
  [ "$f" = /etc/systemd/system/vrf-resolver-net@.service ] || return 1
  [ -z "$(uprop "$U" BindsTo)" ] && uprop "$U" After | grep -qw "$DEV" && uprop "$U" Wants | grep -qw "$N"
}
check "install.sh's units load (the template for mgmt, its own file for default, the companion), after the device, not bound to it" units_installed

no_loopback() {
  ip addr del 127.0.0.1/8 dev mgmt
  ip -6 addr del ::1/128 dev mgmt
  ip addr show dev mgmt
  ! ip addr show dev mgmt | grep -Eq 'inet6? (127\.0\.0\.1/8|::1/128)'
}
check "mgmt starts without its loopback addresses (removed)" no_loopback

# The kernel's default rule order (the seed's host): lookup local at pref 0, before l3mdev.
local_first() {
  ip -4 rule add pref 0 lookup local && ip -4 rule del pref 32765 &&
    ip -6 rule add pref 0 lookup local && ip -6 rule del pref 32765 || return 1
  ip -4 rule; ip -6 rule
  ip -4 rule | grep -q '^0:.*lookup local'
}
check "the rule order as the kernel makes it: lookup local (pref 0) before l3mdev (pref 1000)" local_first

mkdir -p "$CONF"
# CacheMinTTLSec=: the lab's dnsmasq answers with TTL 0; the re-creation checks need a cache.
printf '[Resolve]\nDNS=%s\nCacheMinTTLSec=600\n' "$MGMT_UP_ADDR" >"$CONF/mgmt.conf"
chmod 0644 "$CONF/mgmt.conf"
note "wrote $CONF/mgmt.conf: $(tr '\n' ' ' <"$CONF/mgmt.conf")"

start_unit() { # UNIT: systemctl start returns once READY=1 came (Type=notify)
  local t0=$SECONDS rc
  sctl start "$1"
  rc=$?
  echo "systemctl start $1: exit $rc after $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || { sctl status "$1"; return 1; }
  unit_is "$1" active running
}
check "systemctl start $U: active (running) once READY=1 arrived" start_unit "$U"

notify_status() {
  local t s
  t=$(uprop "$U" Type)
  s=$(uprop "$U" StatusText)
  echo "Type=$t NotifyAccess=$(uprop "$U" NotifyAccess) StatusText=$s"
  [ "$t" = notify ] && [ -n "$s" ]
}
check "sd_notify: the service's status text is shown (Type=notify)" notify_status

loopback_added() {
  ip addr show dev mgmt
  ip addr show dev mgmt | grep -q 'inet 127\.0\.0\.1/8' &&
    ip addr show dev mgmt | grep -q 'inet6 ::1/128' &&
    journal_has "$N" '^loopback addresses added'
}
check "$N (ensure-loopback, started with the service) added 127.0.0.1/8 and ::1/128 to mgmt, and logged it" loopback_added

rule_order_fixed() {
  ip -4 rule; ip -6 rule
  ! ip -4 rule | grep -q '^0:.*lookup local' && ip -4 rule | grep -q '^32765:.*lookup local' &&
    ! ip -6 rule | grep -q '^0:.*lookup local' && ip -6 rule | grep -q '^32765:.*lookup local' &&
    journal_has "$N" '^rule order fixed'
}
check "FixRuleOrder= (the same step) put lookup local after l3mdev, IPv4 and IPv6, and logged it" rule_order_fixed

check "dig @127.0.0.1 (UDP) inside mgmt" expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53
check "dig @::1 +tcp inside mgmt" expect_answer mgmt ::1 which.lab.test TXT '"upstream=mgmt"' +tcp
check "a never-cached name resolves inside mgmt" \
  expect_answer mgmt 127.0.0.1 "$(unique_name wild.lab.test)" A 10.53.0.99
check "the default VRF gets no reply from the mgmt service" \
  expect_no_answer default 127.0.0.1 which.lab.test A NOREPLY

# listeners_on_mgmt PROCESS: UDP and TCP on 127.0.0.1:53 and [::1]:53, bound to mgmt (ss's
# "dev = mgmt" matches the socket's SO_BINDTODEVICE device), held by PROCESS.
listeners_on_mgmt() {
  local on_mgmt
  echo "listening on port 53:"
  ss -Hlnup 'sport = :53'
  ss -Hlntp 'sport = :53'
  on_mgmt=$(ss -Hlnup 'sport = :53 and dev = mgmt'; ss -Hlntp 'sport = :53 and dev = mgmt')
  echo "of which bound to mgmt:"
  echo "$on_mgmt"
  [ "$(grep -c "((\"$1\"" <<<"$on_mgmt")" -eq 4 ] &&
    grep -q '^UNCONN.* 127\.0\.0\.1%mgmt:53 ' <<<"$on_mgmt" && grep -q '^UNCONN.* \[::1\]%mgmt:53 ' <<<"$on_mgmt" &&
    grep -q '^LISTEN.* 127\.0\.0\.1%mgmt:53 ' <<<"$on_mgmt" && grep -q '^LISTEN.* \[::1\]%mgmt:53 ' <<<"$on_mgmt"
}
check "its four listeners (UDP, TCP; 127.0.0.1, ::1) are bound to mgmt" listeners_on_mgmt node

own_cgroup() { # UNIT
  local pid
  pid=$(uprop "$1" MainPID)
  echo "$1: MainPID=$pid; /proc/$pid/cgroup: $(cat "/proc/$pid/cgroup")"
  [ "${pid:-0}" -gt 0 ] && grep -qF "/$1" "/proc/$pid/cgroup"
}
check "the main process is in the unit's own cgroup ($U)" own_cgroup "$U"

sandboxed() {
  local pid uid cap
  pid=$(uprop "$U" MainPID)
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
  cap=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
  echo "uid $uid ($(ps -o user= -p "$pid")), CapEff $cap"
  # DynamicUser= takes uids from 61184-65519; 0x400 is CAP_NET_BIND_SERVICE alone.
  [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] && [ "$cap" = 0000000000000400 ]
}
check "sandbox: a dynamic user holding only CAP_NET_BIND_SERVICE" sandboxed

journal_ready() {
  journal_has "$U" '^ready .*vrf=mgmt' || return 1
  # journald files "<6>ready ..." under priority 6 and strips the prefix.
  ! ujournal "$U" | grep -E '^<[0-7]>'
}
check "journalctl -u $U: the ready line, its <N> prefix taken as the priority" journal_ready

reload_ok() {
  local pid0 pid1 rc c
  c=$(jcursor)
  pid0=$(uprop "$U" MainPID)
  sctl reload "$U"
  rc=$?
  pid1=$(uprop "$U" MainPID)
  echo "systemctl reload: exit $rc; MainPID $pid0 -> $pid1"
  [ $rc -eq 0 ] && [ "$pid0" = "$pid1" ] && journal_has "$U" '^configuration reloaded' --after-cursor "$c" && unit_is "$U" active running
}
check "systemctl reload: 'configuration reloaded' logged, same MainPID, still running" reload_ok
check "answers after the reload" expect_answer mgmt 127.0.0.1 www.lab.test A 10.53.0.80

reload_broken() {
  local pid0 pid1 rc c
  c=$(jcursor)
  mkdir -p "$CONF/mgmt.conf.d"
  printf '[Resolve]\nPort=notaport\n' >"$CONF/mgmt.conf.d/50-broken.conf"
  chmod 0644 "$CONF/mgmt.conf.d/50-broken.conf"
  pid0=$(uprop "$U" MainPID)
  sctl reload "$U"
  rc=$?
  pid1=$(uprop "$U" MainPID)
  echo "systemctl reload with a broken drop-in: exit $rc; MainPID $pid0 -> $pid1"
  [ "$pid0" = "$pid1" ] && journal_has "$U" '^reload refused' --after-cursor "$c" && unit_is "$U" active running
}
check "reload with a broken drop-in: refused and logged, the same process keeps running" reload_broken
check "answers with the old configuration" expect_answer mgmt 127.0.0.1 which.lab.test AAAA fd53::53
rm -rf "$CONF/mgmt.conf.d"

priority_filter() {
  echo "\$ journalctl -u $U -p warning"
  ujournal "$U" -p warning
  journal_has "$U" '^reload refused' -p warning || return 1
  ! ujournal "$U" -p warning | grep -E '^(ready|configuration reloaded|loopback addresses)'
}
check "journalctl -p warning: the refusal (err) is there, info lines are not" priority_filter

no_restart_yet() {
  local n
  n=$(uprop "$U" NRestarts)
  echo "NRestarts=$n after $(($(date +%s) - $(date -d "$(uprop "$U" ActiveEnterTimestamp)" +%s))) s active"
  [ "$n" = 0 ]
}
check "watchdog: no restart while serving (pings arrive under TCG)" no_restart_yet

new_main_pid() { # OLD: the unit runs again, with another main process
  local p
  p=$(uprop "$U" MainPID)
  [ "${p:-0}" -gt 0 ] && [ "$p" != "$1" ] && [ "$(uprop "$U" SubState)" = running ]
}
watchdog_restart() {
  local pid0 n0 t0=$SECONDS c
  c=$(jcursor)
  pid0=$(uprop "$U" MainPID)
  n0=$(uprop "$U" NRestarts)
  echo "kill -STOP $pid0 (WatchdogUSec=$(uprop "$U" WatchdogUSec))"
  kill -STOP "$pid0" || return 1
  wait_for 180 new_main_pid "$pid0"
  local ok=$?
  echo "after $((SECONDS - t0)) s: MainPID=$(uprop "$U" MainPID) NRestarts=$(uprop "$U" NRestarts) (was $n0)"
  kill -CONT "$pid0" 2>/dev/null # in case it is still there
  [ $ok -eq 0 ] && [ "$(uprop "$U" NRestarts)" -gt "$n0" ] && journal_has "$U" 'Watchdog timeout' --after-cursor "$c"
}
check "watchdog: after kill -STOP, 'Watchdog timeout' and a restart with a new MainPID" watchdog_restart
check "answers after the watchdog restart" expect_answer mgmt 127.0.0.1 "$(unique_name wild.lab.test)" A 10.53.0.99

stop_unit() { # UNIT
  local t0=$SECONDS c
  c=$(jcursor)
  sctl stop "$1" || return 1
  echo "systemctl stop $1 took $((SECONDS - t0)) s; Result=$(uprop "$1" Result)"
  unit_is "$1" inactive dead && [ "$(uprop "$1" Result)" = success ] && journal_has "$1" '^stopped( |$)' --after-cursor "$c"
}
check "systemctl stop: inactive, result success, 'stopped' logged" stop_unit "$U"
check "no answer inside mgmt once stopped" expect_no_answer mgmt 127.0.0.1 which.lab.test A NOREPLY

# mgmt made again (the network configuration's part: the VRF and its port; not the loopbacks).
recreate() {
  ip link add mgmt type vrf table 1000 && ip link set mgmt up &&
    ip link set mgmt-up master mgmt && ip link set mgmt-up up || return 1
  ip addr replace 10.53.0.1/24 dev mgmt-up
  ip -6 addr replace fd53::1/64 dev mgmt-up nodad
}

# ---- socket activation ----

socket_enabled() {
  ip addr del 127.0.0.1/8 dev mgmt # the socket's own ExecStartPre= must add them back
  ip -6 addr del ::1/128 dev mgmt
  timeout 300 sh "$VRF_LAB_REPO/systemd/install.sh" socket mgmt || return 1
  cat "/etc/systemd/system/$S.d/device.conf" || return 1
  echo "$S: enabled=$(sctl is-enabled "$S")"
  unit_is "$S" active listening && unit_is "$U" inactive
}
check "install.sh socket mgmt: drop-in written, $S enabled and listening, service not started" socket_enabled

sockets_bound() {
  ip addr show dev mgmt
  ip addr show dev mgmt | grep -q 'inet 127\.0\.0\.1/8' && ip addr show dev mgmt | grep -q 'inet6 ::1/128' &&
    listeners_on_mgmt systemd
}
check "the socket's ensure-loopback added the addresses; UDP and TCP on 127.0.0.1 and ::1 bound to mgmt" sockets_bound

check "socket activation: the first query inside mgmt starts the service and is answered" \
  expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53 +time=90 +tries=1
activated() {
  unit_is "$U" active running && journal_has "$U" '^ready .*socketActivated=true'
}
check "the service runs and adopted systemd's sockets (socketActivated=true)" activated
check "dig @::1 +tcp inside mgmt through the passed sockets" \
  expect_answer mgmt ::1 which.lab.test TXT '"upstream=mgmt"' +tcp
check "the default VRF gets no reply from mgmt's sockets" \
  expect_no_answer default 127.0.0.1 which.lab.test A NOREPLY

restart_answers() {
  local pid0 pid1
  pid0=$(uprop "$U" MainPID)
  sctl restart --no-block "$U" || return 1
  # Sent while the service restarts: the socket holds it until the new process reads it.
  expect_answer mgmt 127.0.0.1 www.lab.test A 10.53.0.80 +time=90 +tries=1 || return 1
  pid1=$(uprop "$U" MainPID)
  echo "MainPID $pid0 -> $pid1"
  [ "$pid1" != "$pid0" ] && unit_is "$S" active
}
check "a query sent during systemctl restart is answered (the socket stays open)" restart_answers

# The sockets are systemd's. The device deleted: BindToDevice= stops the socket unit, and the
# service stops itself (exit 0: its sockets are dead, and systemd would refuse to start the socket
# again while it runs). The device back: the socket listens again (enabled, it is in the device's
# .wants/), and the next query starts the service.
socket_follows() {
  local pid
  pid=$(uprop "$U" MainPID)
  ls -l "/etc/systemd/system/$DEV.wants/"
  test -L "/etc/systemd/system/$DEV.wants/$S" || return 1
  ip link del mgmt || return 1
  wait_for 60 unit_is "$U" inactive || return 1
  echo "after ip link del mgmt: $S $(uprop "$S" ActiveState)/$(uprop "$S" SubState), $U $(uprop "$U" ActiveState) Result=$(uprop "$U" Result)"
  journal_has "$U" "mgmt is gone: systemd's sockets" || return 1
  [ "$(uprop "$U" Result)" = success ] || return 1
  recreate || return 1
  wait_for 60 unit_is "$S" active listening || return 1
  expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53 +time=90 +tries=1 || return 1
  echo "MainPID $pid -> $(uprop "$U" MainPID)"
  unit_is "$U" active running && [ "$(uprop "$U" MainPID)" != "$pid" ]
}
check "socket activation, mgmt deleted: the service stops itself; created again: the socket listens (the device wants it) and a query starts the service" socket_follows

socket_stop() {
  sctl disable --now "$S" || return 1
  stop_unit "$U" || return 1
  ss -Hlnp 'sport = :53'
  [ -z "$(ss -Hln 'sport = :53 and dev = mgmt')" ]
}
check "disable --now the socket, stop the service: nothing listens in mgmt" socket_stop

# ---- the default VRF's instance beside mgmt's ----

printf '[Resolve]\nDNS=%s\n' "$DEF_UP_ADDR" >"$CONF/default.conf"
chmod 0644 "$CONF/default.conf"
check "systemctl start $D: active (running)" start_unit "$D"
# mgmt's metrics listener, inside mgmt only (Metrics=; its socket bound to the VRF).
printf 'Metrics=127.0.0.1:9153\n' >>"$CONF/mgmt.conf"
check "systemctl start $U beside it" start_unit "$U"
check "default VRF, 127.0.0.1: the default instance answers from its upstream" \
  expect_answer default 127.0.0.1 which.lab.test A 10.54.0.54
check "default VRF, ::1 +tcp: the default instance answers" \
  expect_answer default ::1 which.lab.test TXT '"upstream=default"' +tcp
check "mgmt, 127.0.0.1: the mgmt instance answers from its upstream" \
  expect_answer mgmt 127.0.0.1 which.lab.test A 10.53.0.53
check "the default instance is in its own cgroup ($D)" own_cgroup "$D"

# ---- the control plane against the units (DynamicUser=, RuntimeDirectory=) ----

VR=/usr/local/bin/vrf-resolver
control_json() { # COMMAND ARGS...: the command's --json output, checked by the python below
  timeout 180 "$VR" "$@" --json
}
status_of() { # INSTANCE
  local out
  out=$(control_json status "$1") || { echo "vrf-resolver status $1 --json failed: $out"; return 1; }
  echo "$out" | head -c 1500; echo
  ls -l /run/vrf-resolver/
  python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["instance"] == sys.argv[1], s["instance"]
assert s["controlSocket"] == "/run/vrf-resolver/%s.sock" % sys.argv[1], s["controlSocket"]
assert s["upstreams"] and s["upstreams"][0]["state"] == "healthy", s["upstreams"]
assert any(l.startswith("udp 127.0.0.1:53") for l in s["listeners"]), s["listeners"]
if sys.argv[1] == "mgmt":
    assert s["vrf"]["name"] == "mgmt" and isinstance(s["vrf"]["ifindex"], int), s["vrf"]
' "$1" <<<"$out"
}
check "vrf-resolver status mgmt --json: the unit's instance, its VRF and ifindex, listeners, upstream" status_of mgmt
check "vrf-resolver status default --json: the default instance beside it, its own socket" status_of default

statistics_mgmt() {
  local out
  out=$(control_json statistics mgmt) || { echo "$out"; return 1; }
  echo "$out" | head -c 1500; echo
  python3 -c '
import json, sys
s = json.load(sys.stdin)
c = s["counters"]
assert c["queries"] >= 1 and c["udpQueries"] >= 1 and c["upstreamQueries"] >= 1, c
assert s["responsesByRcode"].get("NOERROR", 0) >= 1, s["responsesByRcode"]
' <<<"$out"
}
check "vrf-resolver statistics mgmt --json: the queries so far, by rcode" statistics_mgmt

query_answers() { # INSTANCE WANT: vrf-resolver query INSTANCE which.lab.test A gives WANT
  local out
  out=$(timeout 180 "$VR" query "$1" which.lab.test A) || { echo "$out"; return 1; }
  echo "$out"
  grep -qF "$2" <<<"$out"
}
check "vrf-resolver query mgmt which.lab.test A: resolves through mgmt (the mgmt upstream's answer)" \
  query_answers mgmt 10.53.0.53
check "vrf-resolver query default which.lab.test A: the default instance's answer, not mgmt's" \
  query_answers default 10.54.0.54

scrape() { # VRF: GET http://127.0.0.1:9153/metrics from inside VRF; prints the head of it
  in_vrf "$1" timeout 120 python3 -c '
import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9153/metrics", timeout=60).read().decode()
print(body[:600])
assert "vrf_resolver_dns_requests_total{" in body and "vrf=\"mgmt\"" in body, "no mgmt series"
'
}
check "Metrics=127.0.0.1:9153: a scraper inside mgmt gets mgmt's Prometheus metrics" scrape mgmt
no_scrape_default() { ! scrape default; }
check "the default VRF cannot reach mgmt's metrics listener" no_scrape_default

status_both() {
  local out
  out=$(timeout 180 "$VR" status) || { echo "$out"; return 1; }
  echo "$out"
  grep -q mgmt <<<"$out" && grep -q default <<<"$out"
}
check "vrf-resolver status with two instances running: one block each" status_both

check "systemctl stop $D" stop_unit "$D"

# ---- the VRF device deleted and created again: the process follows it ----

check "systemctl enable $U (multi-user.target and the device's .wants, with $N through Also=)" \
  bash -c "timeout $SYSTEMCTL_TIMEOUT systemctl enable $U && ls -l /etc/systemd/system/$DEV.wants/ && test -L /etc/systemd/system/$DEV.wants/$N"
cached=$(unique_name wild.lab.test)
check "a name asked once inside mgmt (cached from now on)" expect_answer mgmt 127.0.0.1 "$cached" A 10.53.0.99
seen_upstream() { grep -F "$cached" "$STATE/dnsmasq-up-mgmt.log" | grep -cF 'query['; }
seen_before=$(seen_upstream)
main_pid=$(uprop "$U" MainPID)

device_gone() {
  ip link del mgmt || return 1
  journal_has "$U" 'mgmt is gone' || return 1
  echo "MainPID $main_pid -> $(uprop "$U" MainPID)"
  unit_is "$U" active running && [ "$(uprop "$U" MainPID)" = "$main_pid" ]
}
check "ip link del mgmt: the service keeps running (same MainPID) and logs that mgmt is gone" device_gone

# mgmt made again at once, as ifreload or a script does: answers resume (no unit restart, so no
# stop/start race), the loopbacks come back from vrf-resolver-net@mgmt (the device's .wants/).
answers_again() {
  local i
  for i in $(seq 1 120); do
    [ "$(ip vrf exec mgmt dig +short +time=1 +tries=1 @127.0.0.1 which.lab.test A 2>/dev/null)" = 10.53.0.53 ] && {
      echo "answered after try $i"
      return 0
    }
    sleep 0.5
  done
  return 1
}
device_back() {
  local t0=$SECONDS
  recreate || return 1
  answers_again || return 1
  echo "answered $((SECONDS - t0)) s after the re-creation; MainPID $(uprop "$U" MainPID)"
  ip addr show dev mgmt
  [ "$(uprop "$U" MainPID)" = "$main_pid" ] && journal_has "$U" 'mgmt was created again'
}
check "the device again: $N adds the loopbacks, the same process listens on the new mgmt and answers" device_back
cache_kept() {
  expect_answer mgmt 127.0.0.1 "$cached" A 10.53.0.99 || return 1
  echo "upstream queries for $cached: $seen_before before, $(seen_upstream) now"
  [ "$(seen_upstream)" = "$seen_before" ]
}
check "the cache survived the re-creation: the name asked before needs no upstream query" cache_kept
many_recreations() {
  local i
  for i in 1 2 3 4 5; do
    ip link del mgmt && recreate || return 1
    answers_again >/dev/null || { echo "no answer after re-creation $i"; return 1; }
  done
  echo "5 re-creations at once, answered after each; MainPID $(uprop "$U" MainPID)"
  [ "$(uprop "$U" MainPID)" = "$main_pid" ] && unit_is "$U" active running
}
check "deleted and created again at once, 5 times: the service stays up and answers every time" many_recreations

# ---- Workers=2: two threads, each with its own listeners bound to mgmt (SO_REUSEPORT) ----

workers_json() { # python over `vrf-resolver status mgmt --json`: two workers, running, none waiting
  local out
  out=$(control_json status mgmt) || { echo "$out"; return 1; }
  python3 -c '
import json, sys
w = json.load(sys.stdin)["workers"]
print(w)
assert [x["worker"] for x in w] == [0, 1] and all(x["state"] == "running" and "waitingListeners" not in x for x in w), w
' <<<"$out"
}
workers_start() {
  mkdir -p "$CONF/mgmt.conf.d"
  printf '[Resolve]\nWorkers=2\n' >"$CONF/mgmt.conf.d/60-workers.conf"
  chmod 0644 "$CONF/mgmt.conf.d/60-workers.conf"
  sctl restart "$U" || return 1
  unit_is "$U" active running || return 1
  journal_has "$U" '^worker ready' || return 1
  ss -Hlnup 'sport = :53 and dev = mgmt'
  # Each worker holds its own UDP socket on each listen address, all bound to mgmt.
  [ "$(ss -Hlnu 'src 127.0.0.1 and sport = :53 and dev = mgmt' | wc -l)" = 2 ] && workers_json
}
check "Workers=2 (a drop-in), systemctl restart: both workers ready under the unit's sandbox, two UDP sockets on 127.0.0.1:53 bound to mgmt" workers_start
workers_answer() {
  local i out
  for i in $(seq 1 16); do
    [ "$(ip vrf exec mgmt dig +short +time=30 +tries=1 @127.0.0.1 "$(unique_name wild.lab.test)" A)" = 10.53.0.99 ] || { echo "query $i unanswered"; return 1; }
  done
  out=$(control_json statistics mgmt) || return 1
  python3 -c '
import json, sys
w = json.load(sys.stdin)["workers"]
print([(x["worker"], x["counters"]["queries"]) for x in w])
assert all(x["counters"]["queries"] > 0 for x in w), w
' <<<"$out"
}
check "16 new names inside mgmt, each from its own port: all answered, and each worker answered some" workers_answer
workers_reload() {
  local c
  c=$(jcursor)
  sctl reload "$U" || return 1
  journal_has "$U" '^configuration reloaded' --after-cursor "$c" && workers_json
}
check "systemctl reload with two workers: reloaded, both still running" workers_reload
workers_follow() {
  ip link del mgmt && recreate || return 1
  answers_again || return 1
  wait_for 60 workers_json
}
check "mgmt deleted and created again: both workers listen on the new device" workers_follow
rm -rf "$CONF/mgmt.conf.d"

check "systemctl disable --now $U" bash -c "timeout $SYSTEMCTL_TIMEOUT systemctl disable --now $U"
