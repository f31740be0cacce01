#!/bin/bash
# Shared helpers for the VRF lab's guest scripts: the topology, starting and stopping
# resolver instances, DNS queries in a VRF, and PASS/FAIL bookkeeping.
#
# Topology (everything inside the guest; the host's network is never involved):
#
#   default VRF                          mgmt VRF (table 1000)
#   lo 127.0.0.1 ::1                     mgmt (vrf device) 127.0.0.1/8 ::1/128
#   def-up 10.54.0.1/24 fd54::1/64       mgmt-up 10.53.0.1/24 fd53::1/64  (enslaved to mgmt)
#     |  veth                              |  veth
#   netns up-default: eth0 10.54.0.2     netns up-mgmt: eth0 10.53.0.2
#     dnsmasq: lab.test (answers ...54)    dnsmasq: lab.test (answers ...53)
#                                          busybox httpd :80, a flat apt repo (repo.lab.test)
#
# Policy rules: the l3mdev rule (pref 1000) comes before `lookup local` (moved from pref 0
# to 32765), so 127.0.0.1 / ::1 from a process in mgmt are routed to the mgmt device.

# shellcheck source=/dev/null
. /lab-io/config.sh
set -u

# shellcheck disable=SC2034 # GUEST, MGMT_EXTRA_ARGS: used by the scripts that source this
GUEST="$VRF_LAB_REPO/test/vrf/guest"
RESULTS=/lab-io/results
LOGDIR=/lab-io/logs
STATE=/run/vrf-lab
mkdir -p "$LOGDIR" "$STATE/resolvers"

MGMT_UP_ADDR=10.53.0.2
MGMT_UP_ADDR6=fd53::2
DEF_UP_ADDR=10.54.0.2
DEF_UP_ADDR6=fd54::2
REPO_DIR=/srv/lab-repo
APT_DIR=/tmp/lab-apt

# Under TCG everything is 30-50x slower than on the host: generous, functional timeouts only.
READY_TIMEOUT="${VRF_LAB_READY_TIMEOUT:-240}"
DIG_TIME="${VRF_LAB_DIG_TIME:-8}"
read -r -a RESOLVER_CMD <<<"$VRF_LAB_RESOLVER"
# shellcheck disable=SC2034
read -r -a MGMT_EXTRA_ARGS <<<"${VRF_LAB_MGMT_EXTRA_ARGS:-}"
RESOLVER_LOG_LEVEL="${VRF_LAB_LOG_LEVEL:-info}"

SCENARIO="${SCENARIO:-lab}"
LOG="$LOGDIR/$SCENARIO.log"

note() { echo "[$(date +%T)] $*" >>"$LOG"; }
say() {
  echo "$*"
  note "$*"
}

# ---- results --------------------------------------------------------------------------

pass() {
  echo "PASS $SCENARIO: $1" >>"$RESULTS"
  echo "PASS $SCENARIO: $1"
  note "PASS $1"
}
fail() {
  echo "FAIL $SCENARIO: $1" >>"$RESULTS"
  echo "FAIL $SCENARIO: $1"
  note "FAIL $1"
}

# check NAME CMD...: one named test; CMD's output goes to the scenario's log.
check() {
  local name=$1
  shift
  note "---- check: $name"
  note "\$ $*"
  if "$@" >>"$LOG" 2>&1; then
    pass "$name"
    return 0
  fi
  fail "$name"
  return 1
}

# ---- running things in a VRF ----------------------------------------------------------

# in_vrf VRF CMD...: run CMD in VRF ("default" = no VRF, like any ordinary process).
in_vrf() {
  local vrf=$1
  shift
  if [ "$vrf" = default ]; then
    "$@"
  else
    ip vrf exec "$vrf" "$@"
  fi
}

# dns_query VRF SERVER NAME TYPE [dig options...]
# Prints the response status (NOERROR, SERVFAIL, ..., or NOREPLY when no server answered)
# on the first line, then one answer RDATA per line.
dns_query() {
  local vrf=$1 server=$2 name=$3 type=$4
  shift 4
  local out rc status
  out=$(in_vrf "$vrf" dig +time="$DIG_TIME" +tries=2 +noall +comments +answer "$@" "@$server" "$name" "$type" 2>&1)
  rc=$?
  {
    echo "\$ [$vrf] dig $* @$server $name $type (exit $rc)"
    echo "$out" | sed 's/^/    /'
  } >>"$LOG"
  status=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | head -n1)
  if [ -z "$status" ]; then
    echo NOREPLY
    return 0
  fi
  echo "$status"
  grep -v '^;' <<<"$out" | awk 'NF >= 5 { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }'
}

# expect_answer VRF SERVER NAME TYPE WANT [dig options...]: NOERROR and WANT in the answers.
expect_answer() {
  local vrf=$1 server=$2 name=$3 type=$4 want=$5
  shift 5
  local got
  got=$(dns_query "$vrf" "$server" "$name" "$type" "$@")
  echo "got: $(tr '\n' ' ' <<<"$got")   want: NOERROR $want"
  [ "$(head -n1 <<<"$got")" = NOERROR ] && tail -n +2 <<<"$got" | grep -qxF -- "$want"
}

# expect_no_answer VRF SERVER NAME TYPE "STATUS..." [dig options...]: no answer records and a
# status among the allowed ones (e.g. "NOREPLY" or "SERVFAIL NOREPLY").
expect_no_answer() {
  local vrf=$1 server=$2 name=$3 type=$4 allowed=$5
  shift 5
  local got status
  got=$(dns_query "$vrf" "$server" "$name" "$type" "$@")
  status=$(head -n1 <<<"$got")
  echo "got: $(tr '\n' ' ' <<<"$got")   want: no answer, status in: $allowed"
  [ "$(tail -n +2 <<<"$got" | grep -c .)" -eq 0 ] || return 1
  grep -qw -- "$status" <<<"$allowed"
}

# ---- topology -------------------------------------------------------------------------

start_upstream_dns() { # NS ADDR ADDR6 WHO OCTET
  local ns=$1 addr=$2 addr6=$3 who=$4 o=$5
  ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root \
    --pid-file="$STATE/dnsmasq-$ns.pid" --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address="$addr" --listen-address="$addr6" --local=/lab.test/ \
    --host-record="which.lab.test,10.$o.0.$o,fd$o::$o" --txt-record="which.lab.test,upstream=$who" \
    --host-record="www.lab.test,10.$o.0.80,fd$o::80" --host-record="repo.lab.test,$addr,$addr6" \
    --address="/wild.lab.test/10.$o.0.99" --log-queries --log-facility="$STATE/dnsmasq-$ns.log" \
    >>"$LOGDIR/dnsmasq-$ns.out" 2>&1 &
}

make_repo() {
  # A flat apt repository with one marker package, served over HTTP in up-mgmt.
  mkdir -p "$REPO_DIR"
  cat >"$REPO_DIR/Packages" <<'EOF'
Package: vrf-lab-marker
Version: 1.0
Architecture: all
Maintainer: VRF lab <lab@lab.test>
Installed-Size: 1
Filename: ./vrf-lab-marker_1.0_all.deb
Size: 1
SHA256: 0000000000000000000000000000000000000000000000000000000000000000
Description: marker package of the VRF lab's local repository

EOF
  gzip -9nk "$REPO_DIR/Packages"
  {
    echo "Origin: vrf-lab"
    echo "Label: vrf-lab"
    echo "Suite: lab"
    echo "Codename: lab"
    echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
    echo "Architectures: amd64 all"
    echo "SHA256:"
    for f in Packages Packages.gz; do
      echo " $(sha256sum "$REPO_DIR/$f" | cut -d' ' -f1) $(stat -c %s "$REPO_DIR/$f") $f"
    done
  } >"$REPO_DIR/Release"
}

topology_up() {
  # One command a line, each logged; the first failure stops it (set -e would be ignored
  # here: this runs as the condition of check's `if`).
  local steps=(
    # mgmt VRF with its loopback addresses
    "ip link add mgmt type vrf table 1000"
    "ip link set mgmt up"
    "ip addr add 127.0.0.1/8 dev mgmt"
    "ip -6 addr add ::1/128 dev mgmt nodad"
    # rule order: local after l3mdev, for IPv4 and IPv6
    "ip -4 rule add pref 32765 lookup local"
    "ip -4 rule del pref 0"
    "ip -6 rule add pref 32765 lookup local"
    "ip -6 rule del pref 0"
    # upstream network namespace reachable only through mgmt
    "ip netns add up-mgmt"
    "ip link add mgmt-up type veth peer name eth0 netns up-mgmt"
    "ip link set mgmt-up master mgmt"
    "ip addr add 10.53.0.1/24 dev mgmt-up"
    "ip -6 addr add fd53::1/64 dev mgmt-up nodad"
    "ip link set mgmt-up up"
    "ip -n up-mgmt link set lo up"
    "ip -n up-mgmt addr add $MGMT_UP_ADDR/24 dev eth0"
    "ip -n up-mgmt -6 addr add $MGMT_UP_ADDR6/64 dev eth0 nodad"
    "ip -n up-mgmt link set eth0 up"
    # a second upstream namespace reachable only from the default VRF
    "ip netns add up-default"
    "ip link add def-up type veth peer name eth0 netns up-default"
    "ip addr add 10.54.0.1/24 dev def-up"
    "ip -6 addr add fd54::1/64 dev def-up nodad"
    "ip link set def-up up"
    "ip -n up-default link set lo up"
    "ip -n up-default addr add $DEF_UP_ADDR/24 dev eth0"
    "ip -n up-default -6 addr add $DEF_UP_ADDR6/64 dev eth0 nodad"
    "ip -n up-default link set eth0 up"
  )
  local c
  for c in "${steps[@]}"; do
    echo "+ $c"
    $c || {
      echo "topology step failed: $c"
      return 1
    }
  done

  start_upstream_dns up-mgmt "$MGMT_UP_ADDR" "$MGMT_UP_ADDR6" mgmt 53
  start_upstream_dns up-default "$DEF_UP_ADDR" "$DEF_UP_ADDR6" default 54
  make_repo || return 1
  ip netns exec up-mgmt busybox httpd -f -p "$MGMT_UP_ADDR:80" -h "$REPO_DIR" >>"$LOGDIR/httpd.out" 2>&1 &
  echo $! >"$STATE/httpd.pid"

  # wait until both upstreams answer
  for _ in $(seq 1 60); do
    if ip netns exec up-mgmt dig +short +time=1 +tries=1 "@$MGMT_UP_ADDR" which.lab.test A | grep -q . &&
      ip netns exec up-default dig +short +time=1 +tries=1 "@$DEF_UP_ADDR" which.lab.test A | grep -q .; then
      return 0
    fi
    sleep 0.5
  done
  echo "upstream dnsmasq instances did not come up"
  return 1
}

show_topology() {
  echo "\$ ip -d link show mgmt"
  ip -d link show mgmt
  echo "\$ ip vrf show"
  ip vrf show
  for fam in -4 -6; do
    echo "\$ ip $fam rule"
    ip "$fam" rule
  done
  echo "\$ ip addr (default VRF and mgmt)"
  ip -br addr
  echo "\$ ip route show vrf mgmt"
  ip route show vrf mgmt
}

# ---- resolver instances ---------------------------------------------------------------

# start_resolver NAME ARGS...: start "$VRF_LAB_RESOLVER run ARGS" in the background and wait
# for its "ready" log line. Fails if it exits first or is not ready in time.
start_resolver() {
  local name=$1
  shift
  local rlog="$LOGDIR/resolver-$name.log"
  : >"$rlog"
  note "starting resolver $name: ${RESOLVER_CMD[*]} run $* --log-level $RESOLVER_LOG_LEVEL"
  "${RESOLVER_CMD[@]}" run "$@" --log-level "$RESOLVER_LOG_LEVEL" >>"$rlog" 2>&1 &
  local pid=$!
  echo "$pid" >"$STATE/resolvers/$name.pid"
  local t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$READY_TIMEOUT" ]; do
    if grep -q '"msg":"ready"' "$rlog"; then
      note "resolver $name ready after $((SECONDS - t0)) s (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      note "resolver $name exited with status $? before it was ready; its log:"
      sed 's/^/    /' "$rlog" >>"$LOG"
      rm -f "$STATE/resolvers/$name.pid"
      return 1
    fi
    sleep 0.5
  done
  note "resolver $name not ready after $READY_TIMEOUT s; its log:"
  sed 's/^/    /' "$rlog" >>"$LOG"
  return 1
}

resolver_running() { # NAME
  local f="$STATE/resolvers/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# stop_resolver NAME: SIGTERM, then wait up to 60 s; succeeds if it exited by itself.
stop_resolver() {
  local name=$1 f="$STATE/resolvers/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      note "resolver $name stopped on SIGTERM (status $?)"
      return 0
    fi
    sleep 0.5
  done
  note "resolver $name ignored SIGTERM for 60 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  return 1
}

stop_all_resolvers() {
  local f
  for f in "$STATE"/resolvers/*.pid; do
    [ -e "$f" ] || continue
    stop_resolver "$(basename "$f" .pid)"
  done
}

# upstream_saw NS NAME: the upstream in NS logged a query for NAME (from the mgmt side, for
# up-mgmt: the only way in is the mgmt-up veth, 10.53.0.1 / fd53::1).
upstream_saw() {
  local ns=$1 name=$2
  grep -F "$name" "$STATE/dnsmasq-$ns.log" | grep -F 'query['
}

unique_name() { # a name no cache has seen: forces a trip to the upstream
  echo "q$(date +%s%N | tail -c 10)-$RANDOM.$1"
}

# ---- apt in a VRF ---------------------------------------------------------------------

apt_lab() { # VRF TOOL ARGS...: apt-get/apt-cache against the lab repository only, state under /tmp
  local vrf=$1 tool=$2
  shift 2
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/sources.d"
  echo 'deb [trusted=yes] http://repo.lab.test/ ./' >"$APT_DIR/sources.list"
  in_vrf "$vrf" "$tool" -q \
    -o Dir::Etc::SourceList="$APT_DIR/sources.list" -o Dir::Etc::SourceParts="$APT_DIR/sources.d" \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 \
    -o Acquire::Retries=0 -o Acquire::http::Timeout=30 "$@"
}

# apt-get update inside VRF from empty lists; prints its output, sets APT_OUT and APT_RC.
apt_update_fresh() { # VRF
  rm -rf "$APT_DIR"
  APT_OUT=$(apt_lab "$1" apt-get update 2>&1)
  APT_RC=$?
  echo "$APT_OUT"
  echo "apt-get update exit status $APT_RC"
}

apt_update_works() { # VRF
  apt_update_fresh "$1"
  [ "$APT_RC" -eq 0 ] || return 1
  grep -Eq '^(W|E|Err):' <<<"$APT_OUT" && return 1
  # -a: under check, /dev/stderr is the scenario's log file, which tee opens anew; without
  # O_APPEND that open would truncate the log.
  apt_lab "$1" apt-cache policy vrf-lab-marker 2>&1 | tee -a /dev/stderr | grep -q 'Candidate: 1.0'
}

apt_update_fails_to_resolve() { # VRF
  apt_update_fresh "$1"
  apt_lab "$1" apt-cache policy vrf-lab-marker 2>&1 | grep -q 'Candidate: 1.0' && return 1
  grep -Eqi "(temporary failure resolving|could not resolve).*repo\.lab\.test" <<<"$APT_OUT"
}

# ---- systemd (the systemd boot: scenario 4) -------------------------------------------

# Every systemctl / journalctl call is bounded: under TCG a start takes seconds, not minutes.
SYSTEMCTL_TIMEOUT="${VRF_LAB_SYSTEMCTL_TIMEOUT:-180}"
sctl() { timeout "$SYSTEMCTL_TIMEOUT" systemctl --no-pager "$@"; }
uprop() { sctl show -p "$2" --value "$1"; } # UNIT PROPERTY
# ujournal UNIT [journalctl options...]: the unit's messages of this boot, text only.
ujournal() {
  local unit=$1
  shift
  timeout 60 journalctl --no-pager -b -o cat -u "$unit" "$@"
}

# jcursor: the journal's current end; `journal_has UNIT PAT --after-cursor "$c"` then looks
# only at what was logged after it.
jcursor() { timeout 30 journalctl -n 1 -o export | sed -n 's/^__CURSOR=//p'; }

# wait_for SECONDS CMD...: CMD until it succeeds, every 0.5 s; the last try's status.
wait_for() {
  local limit=$1 t0=$SECONDS
  shift
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  "$@"
}

# unit_is UNIT ACTIVESTATE [SUBSTATE]
unit_is() {
  local a s
  a=$(uprop "$1" ActiveState)
  s=$(uprop "$1" SubState)
  echo "$1: ActiveState=$a SubState=$s (want $2${3:+ $3})"
  [ "$a" = "$2" ] && { [ -z "${3:-}" ] || [ "$s" = "$3" ]; }
}

# journal_has UNIT PATTERN [journalctl options...]: a line matching the extended regex, within 30 s
# (journald may take a moment to file a line).
journal_has() {
  local unit=$1 pat=$2 t0=$SECONDS
  shift 2
  while [ $((SECONDS - t0)) -lt 30 ]; do
    if ujournal "$unit" "$@" | grep -Eq -- "$pat"; then
      ujournal "$unit" "$@" | grep -E -- "$pat" | tail -n 3
      return 0
    fi
    sleep 1
  done
  echo "no line matching /$pat/ in journalctl -u $unit $*; the unit's journal:"
  ujournal "$unit" | tail -n 30
  return 1
}
