#!/bin/bash
# Scenario 6: the instance follows its VRF device (issue 12), plain `vrf-resolver run`, a real
# VRF. mgmt is deleted (with its slave's addresses and the loopbacks) and created again while
# the instance runs: answers resume within a few seconds, the cache survived (a name asked before
# is answered without another upstream query), 20 re-creations in a row leak no file descriptor
# and keep memory flat. Then: an instance started before mgmt exists waits for it, and a listen
# address added after the start is bound as soon as it is there.
# Here the test plays the network configuration (ifupdown2, networkd, a script): it re-creates
# the VRF, enslaves mgmt-up and puts the addresses back. Under systemd, vrf-resolver-net@mgmt
# adds the loopbacks: scenario 4.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# recreate_mgmt [LOOPBACKS]: delete mgmt and make it again as the topology does; with
# LOOPBACKS=no the VRF comes back without 127.0.0.1/8 and ::1/128.
recreate_mgmt() {
  local loopbacks=${1:-yes}
  ip link del mgmt 2>/dev/null
  make_mgmt "$loopbacks"
}
make_mgmt() {
  local loopbacks=${1:-yes}
  ip link add mgmt type vrf table 1000 && ip link set mgmt up &&
    ip link set mgmt-up master mgmt && ip link set mgmt-up up || return 1
  ip addr replace 10.53.0.1/24 dev mgmt-up
  ip -6 addr replace fd53::1/64 dev mgmt-up nodad
  if [ "$loopbacks" = yes ]; then
    ip addr add 127.0.0.1/8 dev mgmt && ip -6 addr add ::1/128 dev mgmt nodad
  fi
}

ifindex_of() { cat "/sys/class/net/$1/ifindex" 2>/dev/null; }
pid_of() { cat "$STATE/resolvers/$1.pid"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# answers_within SECONDS NAME WANT: dig inside mgmt until NAME gives WANT; prints the seconds taken.
answers_within() {
  local limit=$1 name=$2 want=$3 t0 got
  t0=$(date +%s%N)
  while [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt "$limit" ]; do
    got=$(ip vrf exec mgmt dig +short +time=1 +tries=1 @127.0.0.1 "$name" A 2>/dev/null)
    if grep -qxF "$want" <<<"$got"; then
      echo "answered after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
      return 0
    fi
    sleep 0.2
  done
  echo "no answer within $limit s (last: $got)"
  return 1
}

log_has() { # NAME PATTERN: the resolver's log has a line matching the extended regex (within 30 s)
  local f="$LOGDIR/resolver-$1.log"
  for _ in $(seq 1 60); do
    grep -Eq -- "$2" "$f" && { grep -E -- "$2" "$f" | tail -n 2; return 0; }
    sleep 0.5
  done
  echo "no line matching /$2/ in $f"
  return 1
}

VR=(node "$VRF_LAB_REPO/dist/main.js")

# The lab's dnsmasq answers with TTL 0 (its --local-ttl default): CacheMinTTLSec= keeps answers.
printf '[Resolve]\nCacheMinTTLSec=600\n' >"$STATE/follow.conf"
check "resolver --vrf mgmt starts" \
  start_resolver follow --config "$STATE/follow.conf" --vrf mgmt --upstream "$MGMT_UP_ADDR" --control "$STATE/follow.sock"
cached=$(unique_name wild.lab.test)
check "a name is asked once (it is cached from now on)" expect_answer mgmt 127.0.0.1 "$cached" A 10.53.0.99
check "the upstream saw it" upstream_saw up-mgmt "$cached"
upstream_count() { grep -F "$cached" "$STATE/dnsmasq-up-mgmt.log" | grep -cF 'query['; }
before_queries=$(upstream_count)
old_ifindex=$(ifindex_of mgmt)
pid=$(pid_of follow)

gone() {
  ip link del mgmt || return 1
  log_has follow '"msg":"mgmt is gone' || return 1
  kill -0 "$pid" && echo "still running (pid $pid)" || return 1
  local out
  out=$(timeout 120 "${VR[@]}" status --control "$STATE/follow.sock" --json 2>&1)
  echo "$out"
  grep -Eq '"present": *false' <<<"$out"
}
check "ip link del mgmt: the instance keeps running, logs it, status says present:false" gone
check "nothing answers inside mgmt while it is gone" bash -c "! ip link show mgmt"

back() {
  make_mgmt yes || return 1
  echo "mgmt ifindex $old_ifindex -> $(ifindex_of mgmt)"
  answers_within 60 which.lab.test 10.53.0.53 || return 1
  log_has follow "\"oldIfindex\":$old_ifindex,\"ifindex\":$(ifindex_of mgmt)"
}
check "mgmt created again: answers resume, the log names the old and new ifindex" back
cache_survived() {
  answers_within 30 "$cached" 10.53.0.99 || return 1
  echo "upstream queries for $cached: $before_queries before, $(upstream_count) now"
  [ "$(upstream_count)" = "$before_queries" ]
}
check "the cache survived: the name asked before is answered without another upstream query" cache_survived
check "same process (pid $pid)" kill -0 "$pid"

fds_before=$(fd_count "$pid")
rss_before=$(rss_kib "$pid")
many() {
  local i
  for i in $(seq 1 20); do
    recreate_mgmt yes || { echo "re-creation $i failed"; return 1; }
    answers_within 60 which.lab.test 10.53.0.53 >/dev/null || { echo "no answer after re-creation $i"; return 1; }
  done
  echo "20 re-creations, each answered"
}
check "20 re-creations in a row (delete and create at once): answered after each" many
no_leak() {
  local now i
  for i in $(seq 1 20); do
    now=$(fd_count "$pid")
    [ "$now" -le "$fds_before" ] && break
    sleep 0.5
  done
  echo "open fds: $fds_before before, $now after; RSS: $rss_before KiB before, $(rss_kib "$pid") KiB after"
  [ "$now" -le "$fds_before" ]
}
check "no file descriptor leaked over the 20 re-creations" no_leak
rss_flat() {
  local after
  after=$(rss_kib "$pid")
  echo "RSS $rss_before KiB -> $after KiB"
  # Flat: within 32 MiB (a V8 heap step under TCG), not growing per re-creation.
  [ "$after" -le $((rss_before + 32768)) ]
}
check "memory flat over the 20 re-creations" rss_flat
check "the instance stops" stop_resolver follow

# ---- started before the device exists; a loopback address added after the start ----

late_start() {
  ip link del mgmt || return 1
  local rlog="$LOGDIR/resolver-late.log"
  : >"$rlog"
  "${RESOLVER_CMD[@]}" run --vrf mgmt --upstream "$MGMT_UP_ADDR" --control "$STATE/late.sock" --log-level "$RESOLVER_LOG_LEVEL" >>"$rlog" 2>&1 &
  echo $! >"$STATE/resolvers/late.pid"
  log_has late 'waiting for the device mgmt to appear'
}
check "resolver started before mgmt exists: it waits for the device" late_start
late_device() {
  make_mgmt no || return 1
  log_has late '"msg":"ready"' || return 1
  log_has late 'listen addresses not on mgmt yet'
}
check "mgmt created without loopbacks: the instance starts, its listeners wait for the addresses" late_device
late_address() {
  ip addr add 127.0.0.1/8 dev mgmt && ip -6 addr add ::1/128 dev mgmt nodad || return 1
  log_has late 'waiting listeners opened' || return 1
  answers_within 60 which.lab.test 10.53.0.53
}
check "127.0.0.1 and ::1 added after the start: the listeners open and answer" late_address
check "dig @::1 +tcp inside mgmt" expect_answer mgmt ::1 which.lab.test TXT '"upstream=mgmt"' +tcp
check "the late instance stops" stop_resolver late
