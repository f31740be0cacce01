#!/usr/bin/env bash
# Loopback benchmark of vrf-resolver against dnsmasq and unbound (all three as caching forwarders).
#
#   sudo bench/run.sh            # ~15 minutes; prints a Markdown table, writes bench/results/
#
# 1. Cache hits:   HIT_NAMES names, repeated; each resolver forwards to one upstream and is warmed first.
#    Then the same at a fixed HIT_FIXED_QPS, for latency (p99) at a load every server sustains.
# 2. Cache misses, as issue 13's harness measured them: one pass over MISS_NAMES (100,000) unique
#    names (n1..nN.bench.test, answered by the upstream's wildcard), none of them cached before.
#    MISS_MODE=closed (the default): dnsperf keeps OUTSTANDING queries in flight and sends the next
#    when one is answered (no -Q limit), so each server runs at its own pace; it is never driven
#    past what it can forward (a forwarder that is spends CPU on queries it never answers, and its
#    cost per answered query then measures the overload: check the lost column, which should be 0).
#    MISS_MODE=fixed: at MISS_QPS for DURATION instead, open loop. At a low rate every datagram
#    finds its receiver asleep: at 5,000 q/s dnsmasq slept and was woken twice per miss (the
#    query, the upstream's reply), and its sends woke sleeping peers; in the closed loop it never
#    slept. That made its miss cost 49-88 µs at 5,000 q/s against 30-36 µs closed, on the same
#    host, whichever the upstream (bench/miss-factors.sh, bench/results/miss-factors.md): the
#    main reason this bench showed 3-4x issue 13's 21.7-29.8 µs. The rest is dnsmasq's cache
#    size (below). Before the measured pass each server forwards WARM_NAMES other unique names
#    the same way: a process is measured after its start-up (for Node, the JIT compiling the miss
#    path: without it the first ~3,000 misses wait 20-30 ms).
# 3. vrf-resolver RSS after loading FILL_NAMES distinct names (CacheMaxEntries=200000).
#
# Everything listens on 127.0.0.1/127.0.0.2; nothing leaves the host and no system resolver is
# used. The upstream (UPSTREAM=nsd, the default, as in issue 13's harness) is NSD on
# 127.0.0.2:UP_PORT, authoritative for bench.test only: the hit names h1..hN as A records, a
# wildcard *.bench.test A 192.0.2.1 for the rest, TTL 3600; zone and nsd.conf are written to the
# scratch folder, rate limiting is off. UPSTREAM=dnsmasq keeps the former upstream (dnsmasq,
# cache-size=0, host-records and an --address wildcard). The preflight installs dnsperf and nsd
# when missing; nsd without letting its postinst start the system nsd on port 53 (a policy-rc.d
# that exits 101, see bench/lib.sh), and with its boot start disabled again.
# Cores: the server under test is pinned to SERVER_CPU, dnsperf and the upstream to LOADGEN_CPU.
# dnsmasq's cache is HIT_NAMES entries: it holds the hit names, and a full dnsmasq cache scans
# its entries on every insert (perf: difftime and one loop), so its cost per miss grows with the
# cache: in the closed loop about 27 µs with 150 entries (its default; within issue 13's range),
# 33-35 with 1,000, 177-231 with 10,000. dns-forward-max 150 (its default) or 1024: no difference.
# Settings: dnsmasq forwarder cache-size=DNSMASQ_CACHE, dns-forward-max=DNSMASQ_FWD_MAX; unbound
# num-threads 1, module iterator only, forward-zone "." ; vrf-resolver CacheMaxEntries=200000,
# other keys default.
# p50/p99 come from dnsperf -v (one line per answered query); lost queries are not in them.
# CPU µs/query (issue 13's "server-core µs/query"): the server's user+system time plus its core's
# ksoftirqd, divided by the queries answered NOERROR (lost and error replies are not counted).
# Raw output: RESULTS/{env,host,dnsperf,resolvers}.raw; summary: RESULTS/latest.md (RESULTS: bench/results).
#
# Environment (defaults in brackets):
#   DURATION [20]        seconds per load run        CLIENTS [8]       dnsperf -c
#   MAX_QPS [200000]     dnsperf -Q                  OUTSTANDING [100] dnsperf -q
#   SERVER_CPU [1]       LOADGEN_CPU [0]             PORT_BASE [15300] ports PORT_BASE+1..+4, +99
#   UPSTREAM [nsd]       nsd or dnsmasq              RESOLVERS [vrf-resolver,dnsmasq,unbound]
#   MISS_MODE [closed]   closed: one pass over MISS_NAMES, no rate limit; fixed: MISS_QPS for DURATION
#   MISS_NAMES [100000]  unique names for test 2     MISS_LIMIT [120]  seconds cap of a closed pass
#   MISS_QPS [5000]      dnsperf -Q for test 2 in fixed mode       WARM_NAMES [20000] test 2's warm-up names
#   MISS_REPEAT [3]      rounds of test 2, the resolvers in turns; the table shows each one's median
#   HIT_NAMES [1000]     names for test 1            FILL_NAMES [100000] names for test 3
#   HIT_FIXED_QPS [20000] dnsperf -Q of test 1's latency run
#   HIT_REPEAT [3]       rounds of test 1, the resolvers in turns; the tables show each one's median
#   DNSMASQ_CACHE [HIT_NAMES]  dnsmasq --cache-size   DNSMASQ_FWD_MAX [1024] dnsmasq --dns-forward-max
#   PROFILE [auto]       1: always, 0: never, auto: when vrf-resolver is slower than dnsmasq on hits,
#                        run one more hit run under `node --cpu-prof` and print the top self-time
#   VRF_MAIN [dist/main.js]  the vrf-resolver entry point to benchmark    RESULTS [bench/results]
#   NODE_FLAGS []        extra node flags for vrf-resolver, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" for a miss profile
#   TESTS [hit,miss,fill]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
RESULTS=${RESULTS:-$BENCH/results}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-8}
MAX_QPS=${MAX_QPS:-200000}
OUTSTANDING=${OUTSTANDING:-100}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PORT_BASE=${PORT_BASE:-15300}
MISS_NAMES=${MISS_NAMES:-100000}
MISS_MODE=${MISS_MODE:-closed}
MISS_LIMIT=${MISS_LIMIT:-120}
UPSTREAM=${UPSTREAM:-nsd}
FILL_NAMES=${FILL_NAMES:-100000}
HIT_NAMES=${HIT_NAMES:-1000}
MISS_QPS=${MISS_QPS:-5000}
MISS_REPEAT=${MISS_REPEAT:-3}
HIT_REPEAT=${HIT_REPEAT:-3}
HIT_FIXED_QPS=${HIT_FIXED_QPS:-20000}
WARM_NAMES=${WARM_NAMES:-20000}
DNSMASQ_CACHE=${DNSMASQ_CACHE:-$HIT_NAMES}
DNSMASQ_FWD_MAX=${DNSMASQ_FWD_MAX:-1024}
PROFILE=${PROFILE:-auto}
VRF_MAIN=${VRF_MAIN:-$ROOT/dist/main.js}
TESTS=${TESTS:-hit,miss,fill}

UP_ADDR=127.0.0.2
UP_PORT=$((PORT_BASE + 99))
LISTEN=127.0.0.1
declare -A PORT=([vrf-resolver]=$((PORT_BASE + 1)) [dnsmasq]=$((PORT_BASE + 2)) [unbound]=$((PORT_BASE + 3)))
FILL_PORT=$((PORT_BASE + 4))
IFS=, read -r -a RESOLVERS <<<"${RESOLVERS:-vrf-resolver,dnsmasq,unbound}"

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- preflight
[[ $UPSTREAM == nsd || $UPSTREAM == dnsmasq ]] || die "UPSTREAM must be nsd or dnsmasq"
[[ $MISS_MODE == closed || $MISS_MODE == fixed ]] || die "MISS_MODE must be closed or fixed"
for r in "${RESOLVERS[@]}"; do [[ -n ${PORT[$r]:-} ]] || die "unknown resolver $r in RESOLVERS"; done
[[ $(id -u) -eq 0 ]] || die "run as root (apt-get, taskset, /proc of the processes under test)"
for tool in dnsperf dnsmasq unbound dig taskset node awk ss pgrep timeout; do
  command -v "$tool" >/dev/null || {
    [[ $tool == dnsperf ]] && { log "installing dnsperf"; apt-get install -y dnsperf >/dev/null; continue; }
    die "missing $tool (apt-get install dnsperf dnsmasq-base unbound bind9-dnsutils util-linux)"
  }
done
if [[ $UPSTREAM == nsd ]] && ! command -v nsd >/dev/null; then
  log "installing nsd (its service is neither started nor left enabled at boot)"
  install_without_starting nsd
  disable_boot_start nsd
fi
require_root_and_cpus "$SERVER_CPU" "$LOADGEN_CPU"
require_free_ports "$UP_PORT" "${PORT[@]}" "$FILL_PORT"

mkdir -p "$RESULTS"
make_scratch vrf-bench
read -r -a VRF_NODE_FLAGS <<<"${NODE_FLAGS:-}" # extra node flags for vrf-resolver (--cpu-prof for the profiled run)

forget_pid() { local p=$1 i; for i in "${!PIDS[@]}"; do [[ ${PIDS[$i]} == "$p" ]] && unset 'PIDS[i]'; done; return 0; }
stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
sleeps() { # pid: voluntary context switches of all its threads and descendants' (NSD's server)
  local p
  for p in "$1" $(descendants "$1"); do cat /proc/"$p"/task/*/status 2>/dev/null; done |
    awk '/^voluntary_ctxt_switches:/ {s += $2} END {print s + 0}'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Packets the kernel receives for the server on its core are processed in softirq: in the server's
# own system time when it is running, else in that core's ksoftirqd thread. Its time is added to
# the server's system time, so a server that sleeps more does not look cheaper (issue 13's rule).
SOFTIRQ_PID=$(pgrep -x "ksoftirqd/$SERVER_CPU" || true)
host_busy() { # cpu -> "busy total" jiffies
  awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}
snapshot_host() { # label -> raw file
  { echo "== $1 $(date -Is)"; uptime; top -bn1 -w 200 | sed -n '7,17p'; } >>"$RESULTS/host.raw"
}

# ---------------------------------------------------------------- inputs
HITQ=$TMP/hit.q MISSQ=$TMP/miss.q FILLQ=$TMP/fill.q WARMQ=$TMP/warm.q
awk -v n="$HIT_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "h" i ".bench.test A"}' >"$HITQ"
awk -v n="$MISS_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "n" i ".bench.test A"}' >"$MISSQ"
awk -v n="$FILL_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "f" i ".bench.test A"}' >"$FILLQ"
awk -v n="$WARM_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "w" i ".bench.test A"}' >"$WARMQ"
hit_addr() { echo "10.$(($1 / 256)).$(($1 % 256)).1"; }

: >"$RESULTS/host.raw"
{
  echo "date: $(date -Is)"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "node: $(node --version)  dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')  dnsmasq: $(dnsmasq --version | awk 'NR == 1 {print $3}')  unbound: $(unbound -V | awk 'NR == 1 {print $2}')"
  echo "vrf-resolver: $VRF_MAIN (mtime $(stat -c %y "$VRF_MAIN"))"
  newest_src=$(find "$ROOT/src" -name '*.ts' -printf '%T@ %p\n' | sort -n | tail -1)
  echo "newest src: ${newest_src#* } (mtime $(date -d "@${newest_src%% *}" -Is))"
  echo "upstream: $UPSTREAM$([[ $UPSTREAM == nsd ]] && echo " $(nsd -v 2>&1 | awk 'NR == 1 {print $3}')")"
  echo "pinning: server cpu$SERVER_CPU; dnsperf + upstream cpu$LOADGEN_CPU"
  echo "dnsperf: -l $DURATION -c $CLIENTS -q $OUTSTANDING -Q $MAX_QPS"
  echo "misses: $MISS_MODE$([[ $MISS_MODE == fixed ]] && echo " at $MISS_QPS q/s for ${DURATION}s" || echo ": one pass, no -Q, at most ${MISS_LIMIT}s") over $MISS_NAMES names after $WARM_NAMES warm-up names"
  echo "dnsmasq: --cache-size=$DNSMASQ_CACHE --dns-forward-max=$DNSMASQ_FWD_MAX"
} >"$RESULTS/env.raw"
snapshot_host start

# ---------------------------------------------------------------- upstream
if [[ $UPSTREAM == nsd ]]; then
  {
    printf '$ORIGIN bench.test.\n$TTL 3600\n'
    echo "@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 900 604800 3600"
    echo "@ NS ns"
    echo "ns A $UP_ADDR"
    for i in $(seq "$HIT_NAMES"); do echo "h$i A $(hit_addr "$i")"; done
    echo "* A 192.0.2.1"
  } >"$TMP/bench.test.zone"
  start_nsd "$LOADGEN_CPU" $UP_ADDR "$UP_PORT" bench.test "$TMP/bench.test.zone"
else
  UPARGS=()
  for i in $(seq "$HIT_NAMES"); do UPARGS+=("--host-record=h$i.bench.test,$(hit_addr "$i")"); done
  start_bg "$LOADGEN_CPU" "$TMP/upstream.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
    --no-hosts --no-poll --user=root --pid-file= --bind-interfaces --listen-address=$UP_ADDR --port="$UP_PORT" \
    --local=/bench.test/ --address=/bench.test/192.0.2.1 --local-ttl=3600 --cache-size=0 --dns-forward-max=4096 \
    "${UPARGS[@]}"
fi
UP_PID=$STARTED_PID
wait_ready $UP_ADDR "$UP_PORT" h1.bench.test
[[ $(dig +short @$UP_ADDR -p "$UP_PORT" "h$HIT_NAMES.bench.test" A) == "$(hit_addr "$HIT_NAMES")" ]] ||
  die "the upstream does not answer h$HIT_NAMES.bench.test with $(hit_addr "$HIT_NAMES")"
[[ $(dig +short @$UP_ADDR -p "$UP_PORT" n1.bench.test A) == 192.0.2.1 ]] || die "the upstream's wildcard does not answer"

# ---------------------------------------------------------------- resolvers under test
start_resolver() { # name [port] -> RES_PID
  local name=$1 port=${2:-${PORT[$1]}}
  case $name in
    vrf-resolver)
      printf '[Resolve]\nCacheMaxEntries=200000\n' >"$TMP/vrf.conf"
      # The environment the systemd units give it (glibc's malloc thresholds, src/heap.ts's neighbour).
      start_bg "$SERVER_CPU" "$TMP/$name.$port.log" env MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 \
        node "${VRF_NODE_FLAGS[@]}" "$VRF_MAIN" run \
        --config "$TMP/vrf.conf" --listen "$LISTEN:$port" --upstream "$UP_ADDR:$UP_PORT" --log-level info ;;
    dnsmasq)
      start_bg "$SERVER_CPU" "$TMP/$name.$port.log" dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --no-resolv --no-hosts --no-poll --user=root --pid-file= --bind-interfaces --listen-address=$LISTEN \
        --port="$port" --server="$UP_ADDR#$UP_PORT" --cache-size="$DNSMASQ_CACHE" --dns-forward-max="$DNSMASQ_FWD_MAX" ;;
    unbound)
      cat >"$TMP/unbound.conf" <<EOF
server:
  interface: $LISTEN@$port
  port: $port
  do-ip6: no
  num-threads: 1
  username: ""
  chroot: ""
  directory: "$TMP"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  module-config: "iterator"
  do-not-query-localhost: no
  local-zone: "test." nodefault
  access-control: 127.0.0.0/8 allow
  msg-cache-size: 64m
  rrset-cache-size: 128m
  num-queries-per-thread: 1024
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: $UP_ADDR@$UP_PORT
EOF
      start_bg "$SERVER_CPU" "$TMP/$name.$port.log" unbound -d -p -c "$TMP/unbound.conf" ;;
  esac
  RES_PID=$STARTED_PID
  wait_ready $LISTEN "$port" h1.bench.test
}

# One dnsperf run; prints "qps avg_ms p50_ms p99_ms lost_pct completed srv_cpu_pct busy_srv_core_pct
# busy_gen_core_pct usr_us_per_query sys_us_per_query noerror sleeps_per_query". Per query: per
# NOERROR reply. Sleeps: the server's voluntary context switches (all threads), each one a wait
# for work that ended in a wakeup.
dnsperf_run() { # tag addr port queryfile pid extra-args...
  local tag=$1 addr=$2 port=$3 qf=$4 pid=$5; shift 5
  local out=$TMP/$tag.dnsperf u0 u1 k0 k1 q0 q1 qu h0 h1 s0 s1 l0 l1 t0 t1 start end w0 w1
  w0=$(sleeps "$pid")
  read -r qu q0 < <(cpu_ticks "${SOFTIRQ_PID:-0}"); q0=$((qu + q0))
  read -r u0 k0 < <(cpu_ticks "$pid"); read -r h0 s0 < <(host_busy "$SERVER_CPU"); read -r l0 t0 < <(host_busy "$LOADGEN_CPU")
  start=$(date +%s.%N)
  timeout --kill-after=5 $((${LIMIT:-$DURATION} + 30)) taskset -c "$LOADGEN_CPU" \
    dnsperf -s "$addr" -p "$port" -d "$qf" -l "${LIMIT:-$DURATION}" -c "$CLIENTS" -q "$OUTSTANDING" -Q "${QPS:-$MAX_QPS}" -t 5 -v "$@" >"$out" 2>&1 || true
  end=$(date +%s.%N)
  read -r qu q1 < <(cpu_ticks "${SOFTIRQ_PID:-0}"); q1=$((qu + q1))
  read -r u1 k1 < <(cpu_ticks "$pid"); read -r h1 s1 < <(host_busy "$SERVER_CPU"); read -r l1 t1 < <(host_busy "$LOADGEN_CPU")
  w1=$(sleeps "$pid")
  { echo "### $tag $(date -Is)"; grep -v '^>' "$out"; } >>"$RESULTS/dnsperf.raw"
  local hz; hz=$(getconf CLK_TCK)
  awk -v ut=$((u1 - u0)) -v kt=$((k1 - k0 + q1 - q0)) -v hz="$hz" -v wall="$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" \
      -v hb=$((h1 - h0)) -v ht=$((s1 - s0)) -v lb=$((l1 - l0)) -v lt=$((t1 - t0)) -v sw=$((w1 - w0)) '
    /^> / { n++; if ($2 == "NOERROR") ok++; us = int($NF * 1e6 + 0.5); h[us]++; if (us > max) max = us; next }
    /Queries per second:/ { qps = $4 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $4; gsub(/[()%]/, "", lost) }
    /Average Latency \(s\):/ { avg = $4 }
    END {
      p50 = p99 = 0; acc = 0
      for (us = 0; us <= max; us++) { acc += h[us]; if (!p50 && acc >= 0.5 * n) p50 = us; if (!p99 && acc >= 0.99 * n) { p99 = us; break } }
      printf "%s %.3f %.3f %.3f %s %s %.0f %.0f %.0f %.1f %.1f %d %.2f\n", qps, avg * 1000, p50 / 1000, p99 / 1000, lost, done,
        100 * (ut + kt) / hz / wall, ht ? 100 * hb / ht : 0, lt ? 100 * lb / lt : 0,
        ok ? 1e6 * ut / hz / ok : 0, ok ? 1e6 * kt / hz / ok : 0, ok, ok ? sw / ok : 0
    }' "$out"
  rm -f "$out"
}

warm() { # port: ask every hit name 3 times at a low rate
  timeout 30 dnsperf -s $LISTEN -p "$1" -d "$HITQ" -n 3 -Q 2000 -c 1 >/dev/null 2>&1 || true
}

stop_resolver() { # pid name port
  stop_pid "$1"
  { echo "### $2 :$3"; cat "$TMP/$2.$3.log"; } >>"$RESULTS/resolvers.raw"
}

: >"$RESULTS/dnsperf.raw"; : >"$RESULTS/resolvers.raw"
declare -A HIT MISS
ROW() { printf '| %s | %s | %s | %s | %s | %s | %s%% | %s | %s | %s%% / %s%% | %s |\n' "$@"; }
fmt_row() { # name "qps avg p50 p99 lost done srvcpu hostsrv hostgen uq kq noerror sleeps" rss
  local name=$1 rss=$3 qps avg p50 p99 lost done scpu hs hg uq kq ok sl
  read -r qps avg p50 p99 lost done scpu hs hg uq kq ok sl <<<"$2"
  lost+=%; (( ok == done )) || lost+=", $((done - ok)) not NOERROR"
  ROW "$name" "$(printf '%.0f' "$qps")" "$avg" "$p50" "$p99" "$lost" "$scpu" \
    "$(awk -v u="$uq" -v k="$kq" 'BEGIN {printf "%.1f (%.1f+%.1f)", u + k, u, k}')" "$sl" "$hs" "$hg" "$rss"
}
HDR='| resolver | qps | avg ms | p50 ms | p99 ms | lost | server CPU | CPU µs/query (usr+sys) | sleeps/query | core busy srv / gen | RSS MiB |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'

# Runs taken in turns (tests 1 and 2): each resolver's runs are lines "key|dnsperf_run result|RSS",
# key the figure the median is taken by. median_run prints the median line; run_keys the keys
# in run order, comma-separated; round_ratios the vrf-resolver / dnsmasq ratio of each round.
median_run() { printf '%s' "$1" | sort -t'|' -k1,1g | awk '{l[NR] = $0} END {print l[int((NR + 1) / 2)]}'; }
run_keys() { printf '%s' "$1" | cut -d'|' -f1 | paste -sd' ' | sed 's/ /, /g'; }
round_ratios() { # runs of vrf-resolver, runs of dnsmasq
  paste -d' ' <(printf '%s' "$1" | cut -d'|' -f1) <(printf '%s' "$2" | cut -d'|' -f1) | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $2}'
}
cpu_key() { read -r _ _ _ _ _ _ _ _ _ uq kq _ <<<"$1"; awk -v u="$uq" -v k="$kq" 'BEGIN {printf "%.1f", u + k}'; }

# Hit runs are as short as miss passes and as exposed to the host's bursts (a p99 is the
# slowest 1 % of one run), so the resolvers take turns HIT_REPEAT times too, each from a fresh
# start; the tables show each one's median run: by CPU per query at full load, by p99 at the
# fixed rate.
if [[ ,$TESTS, == *,hit,* ]]; then
  log "test 1: cache hits ($HIT_NAMES names, ${DURATION}s each), $HIT_REPEAT round(s)"
  HIT_TABLE=$HDR$'\n' HITFIX_TABLE=$HDR$'\n'
  HIT_TABLE+=$(fmt_row "upstream $UPSTREAM (direct, no cache)" "$(dnsperf_run hit-upstream $UP_ADDR "$UP_PORT" "$HITQ" "$UP_PID")" "-")$'\n'
  declare -A HIT_RUNS=() HITFIX_RUNS=()
  for round in $(seq "$HIT_REPEAT"); do
    log "  round $round of $HIT_REPEAT"
    for r in "${RESOLVERS[@]}"; do
      start_resolver "$r"
      r0=$(rss_kib "$RES_PID")
      warm "${PORT[$r]}"
      r1=$(rss_kib "$RES_PID")
      res=$(dnsperf_run "hit-$r" $LISTEN "${PORT[$r]}" "$HITQ" "$RES_PID")
      r2=$(rss_kib "$RES_PID")
      log "  $r: $res"
      HIT_RUNS[$r]+="$(cpu_key "$res")|$res|$(mib "$r0") → $(mib "$r1") → $(mib "$r2")"$'\n'
      res=$(QPS=$HIT_FIXED_QPS dnsperf_run "hitfixed-$r" $LISTEN "${PORT[$r]}" "$HITQ" "$RES_PID")
      log "  $r at $HIT_FIXED_QPS q/s: $res"
      read -r _ _ _ p99 _ <<<"$res"
      HITFIX_RUNS[$r]+="$p99|$res|$(mib "$(rss_kib "$RES_PID")")"$'\n'
      stop_resolver "$RES_PID" "$r" "${PORT[$r]}"
    done
  done
  HIT_ROUNDS=""
  for r in "${RESOLVERS[@]}"; do
    best=$(median_run "${HIT_RUNS[$r]}")
    HIT[$r]=$(cut -d'|' -f2 <<<"$best")
    HIT_TABLE+=$(fmt_row "$r" "${HIT[$r]}" "$(cut -d'|' -f3 <<<"$best")")$'\n'
    best=$(median_run "${HITFIX_RUNS[$r]}")
    HITFIX_TABLE+=$(fmt_row "$r" "$(cut -d'|' -f2 <<<"$best")" "$(cut -d'|' -f3 <<<"$best")")$'\n'
    HIT_ROUNDS+="- $r, CPU µs/query in each round: $(run_keys "${HIT_RUNS[$r]}"); p99 ms at $HIT_FIXED_QPS q/s: $(run_keys "${HITFIX_RUNS[$r]}")"$'\n'
  done
  if [[ -n ${HIT_RUNS[vrf-resolver]:-} && -n ${HIT_RUNS[dnsmasq]:-} ]]; then
    HIT_ROUNDS+="- vrf-resolver / dnsmasq in each round: CPU $(round_ratios "${HIT_RUNS[vrf-resolver]}" "${HIT_RUNS[dnsmasq]}"); p99 $(round_ratios "${HITFIX_RUNS[vrf-resolver]}" "${HITFIX_RUNS[dnsmasq]}")"$'\n'
  fi
  snapshot_host after-hit
fi

# Test 2's load: closed, one pass over the file with no rate limit (the run ends when every name
# is answered or lost); fixed, MISS_QPS for DURATION. -n 1 either way: no name is asked twice.
miss_run() { # tag addr port queryfile pid
  if [[ $MISS_MODE == closed ]]; then LIMIT=$MISS_LIMIT dnsperf_run "$@" -n 1
  else QPS=$MISS_QPS dnsperf_run "$@" -n 1; fi
}
if [[ $MISS_MODE == closed ]]; then
  MISS_DESC="closed loop: one pass over $MISS_NAMES unique names, dnsperf -q $OUTSTANDING, no rate limit"
else
  MISS_DESC="fixed rate: unique names at $MISS_QPS q/s for ${DURATION}s, at most one pass over $MISS_NAMES"
fi

# A miss pass takes 4-10 s, short enough for a burst of the host's other load to spoil one
# resolver's figure and not the next one's. So the resolvers take turns MISS_REPEAT times
# (vrf-resolver, dnsmasq, unbound, vrf-resolver, ...), each from a fresh start, and the table
# shows each one's median run by CPU per query; every run's figure is listed under it.
if [[ ,$TESTS, == *,miss,* ]]; then
  log "test 2: cache misses ($MISS_DESC), $MISS_REPEAT round(s)"
  MISS_TABLE=$HDR$'\n'
  MISS_TABLE+=$(fmt_row "upstream $UPSTREAM (direct)" "$(miss_run miss-upstream $UP_ADDR "$UP_PORT" "$MISSQ" "$UP_PID")" "-")$'\n'
  declare -A MISS_RUNS=() MISS_RSS=()
  for round in $(seq "$MISS_REPEAT"); do
    log "  round $round of $MISS_REPEAT"
    for r in "${RESOLVERS[@]}"; do
      start_resolver "$r"
      res=$(miss_run "warm-$r" $LISTEN "${PORT[$r]}" "$WARMQ" "$RES_PID")
      log "  $r warm-up: $res"
      r0=$(rss_kib "$RES_PID")
      res=$(miss_run "miss-$r" $LISTEN "${PORT[$r]}" "$MISSQ" "$RES_PID")
      r2=$(rss_kib "$RES_PID")
      log "  $r: $res"
      MISS_RUNS[$r]+="$(cpu_key "$res")|$res|$(mib "$r0") → $(mib "$r2")"$'\n'
      stop_resolver "$RES_PID" "$r" "${PORT[$r]}"
    done
  done
  MISS_ROUNDS=""
  for r in "${RESOLVERS[@]}"; do
    best=$(median_run "${MISS_RUNS[$r]}")
    MISS[$r]=$(cut -d'|' -f2 <<<"$best")
    MISS_TABLE+=$(fmt_row "$r" "${MISS[$r]}" "$(cut -d'|' -f3 <<<"$best")")$'\n'
    MISS_ROUNDS+="- $r, CPU µs/query in each round: $(run_keys "${MISS_RUNS[$r]}")"$'\n'
  done
  if [[ -n ${MISS_RUNS[vrf-resolver]:-} && -n ${MISS_RUNS[dnsmasq]:-} ]]; then
    MISS_ROUNDS+="- vrf-resolver / dnsmasq in each round: $(round_ratios "${MISS_RUNS[vrf-resolver]}" "${MISS_RUNS[dnsmasq]}")"$'\n'
  fi
  snapshot_host after-miss
fi

if [[ ,$TESTS, == *,fill,* ]]; then
  log "test 3: vrf-resolver RSS with $FILL_NAMES cached names"
  start_resolver vrf-resolver "$FILL_PORT"
  f0=$(rss_kib "$RES_PID")
  fres=$(QPS=20000 LIMIT=60 dnsperf_run fill-vrf-resolver $LISTEN "$FILL_PORT" "$FILLQ" "$RES_PID" -n 1)
  sleep 2
  f1=$(rss_kib "$RES_PID"); fh=$(hwm_kib "$RES_PID")
  stop_resolver "$RES_PID" vrf-resolver "$FILL_PORT"
  entries=$(grep '"stopped"' "$RESULTS/resolvers.raw" | tail -1 | sed -n 's/.*"cacheEntries":\([0-9]*\).*/\1/p')
  read -r fqps _ _ _ flost fdone _ <<<"$fres"
  FILL_TABLE="| fresh RSS | RSS after fill | peak (VmHWM) | cache entries | per entry | fill: sent at | lost |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| $(mib "$f0") MiB | $(mib "$f1") MiB | $(mib "$fh") MiB | ${entries:-?} | $(awk -v a="$f0" -v b="$f1" -v n="${entries:-0}" 'BEGIN {if (n) printf "%.0f B", (b - a) * 1024 / n; else print "?"}') | $(printf '%.0f' "$fqps") q/s | $flost% |"
  snapshot_host after-fill
fi

# ---------------------------------------------------------------- optional profile
PROF_TEXT=""
want_prof=0
if [[ $PROFILE == 1 ]]; then want_prof=1
elif [[ $PROFILE == auto && -n ${HIT[vrf-resolver]:-} && -n ${HIT[dnsmasq]:-} ]]; then
  awk -v a="${HIT[vrf-resolver]%% *}" -v b="${HIT[dnsmasq]%% *}" 'BEGIN {exit !(a < b)}' && want_prof=1
fi
if (( want_prof )); then
  log "profiling vrf-resolver during a hit run (node --cpu-prof)"
  PROFDIR=$RESULTS/prof
  rm -rf "$PROFDIR"; mkdir -p "$PROFDIR"
  VRF_NODE_FLAGS=(--cpu-prof --cpu-prof-dir="$PROFDIR")
  start_resolver vrf-resolver
  warm "${PORT[vrf-resolver]}"
  pres=$(dnsperf_run prof-hit-vrf-resolver $LISTEN "${PORT[vrf-resolver]}" "$HITQ" "$RES_PID")
  stop_resolver "$RES_PID" vrf-resolver "${PORT[vrf-resolver]}"
  read -r -a VRF_NODE_FLAGS <<<"${NODE_FLAGS:-}"
  prof=$(ls "$PROFDIR"/*.cpuprofile 2>/dev/null | head -1)
  if [[ -n $prof ]]; then
    mv "$prof" "$PROFDIR/hit.cpuprofile"
    PROF_TEXT="Profiled hit run: $(printf '%.0f' "${pres%% *}") q/s under --cpu-prof (bench/results/prof/hit.cpuprofile).

$(node "$BENCH/cpuprofile-top.mjs" "$PROFDIR/hit.cpuprofile" 10 "$ROOT")"
  else
    PROF_TEXT="(no profile written)"
  fi
fi

# ---------------------------------------------------------------- report
snapshot_host end
{
  echo "# vrf-resolver loopback benchmark"
  echo
  echo '```'; cat "$RESULTS/env.raw"; echo '```'
  echo
  if [[ -n ${HIT_TABLE:-} ]]; then
    echo "## 1. Cache hits ($HIT_NAMES names repeated, warmed; RSS: start → warmed → after run)"; echo
    echo "$HIT_TABLE"; echo
    echo "### 1b. The same at a fixed $HIT_FIXED_QPS q/s (latency; RSS after the run)"; echo
    echo "$HITFIX_TABLE"
    (( HIT_REPEAT > 1 )) && { echo "Each resolver's median of $HIT_REPEAT runs, taken in turns (by CPU per query at full load, by p99 at $HIT_FIXED_QPS q/s); every run:"; echo; echo "$HIT_ROUNDS"; }
    echo
  fi
  if [[ -n ${MISS_TABLE:-} ]]; then
    echo "## 2. Cache misses, $MISS_DESC; cold cache, after $WARM_NAMES others as warm-up; upstream $UPSTREAM (RSS: after warm-up → after run)"; echo
    echo "$MISS_TABLE"
    (( MISS_REPEAT > 1 )) && { echo "Each resolver's median of $MISS_REPEAT runs, taken in turns; every run:"; echo; echo "$MISS_ROUNDS"; }
    echo
  fi
  if [[ -n ${FILL_TABLE:-} ]]; then
    echo "## 3. vrf-resolver memory with $FILL_NAMES distinct cached names (CacheMaxEntries=200000)"; echo
    echo "$FILL_TABLE"; echo
  fi
  if [[ -n $PROF_TEXT ]]; then
    echo "## vrf-resolver hit-path profile (top self time)"; echo
    echo "$PROF_TEXT"; echo
  fi
  echo "server CPU: the resolver's CPU time over the run, in % of one core (100% = saturated)."
  echo "sleeps/query: the resolver's voluntary context switches (all its threads) per answered query: how often it waited for work and was woken (a miss is two datagrams in, a query and the upstream's reply)."
  echo "CPU µs/query: the resolver's user+system CPU time, plus the server core's ksoftirqd (counted as sys), divided by the queries answered NOERROR (robust when the load generator is the bottleneck; lost queries are not counted). For the upstream rows: NSD's processes, or dnsmasq. The sum is the kernel's exact run time; its usr/sys split is sampled at each tick, rough for a lightly loaded server."
  echo "core busy: all processes on the server core / on the load-generator core (others' jobs included; on our VM /proc/stat under-counts a lightly loaded core: 1% while dnsmasq alone used 23% of it)."
  echo "Load average at start and end: $(grep -A1 '^== start' "$RESULTS/host.raw" | tail -1 | sed 's/.*load average: //') / $(uptime | sed 's/.*load average: //')"
} >"$RESULTS/latest.md"
cat "$RESULTS/latest.md"
