#!/usr/bin/env bash
# Loopback benchmark of vrf-resolver against dnsmasq and unbound (all three as caching forwarders).
#
#   sudo bench/run.sh            # ~4 minutes; prints a Markdown table, writes bench/results/
#
# 1. Cache hits:   HIT_NAMES names, repeated; each resolver forwards to one upstream and is warmed first.
#    Then the same at a fixed HIT_FIXED_QPS, for latency (p99) at a load every server sustains.
# 2. Cache misses: a unique name per query (n1..nN.bench.test, answered by a wildcard upstream),
#    sent at MISS_QPS, a rate every server here sustains: a forwarder driven past what it can
#    forward spends CPU on queries it never answers, and its cost per answered query then
#    measures the overload, not the work of a miss. Each server first forwards WARM_NAMES other
#    unique names at the same rate: a process is measured after its start-up (for Node, the JIT
#    compiling the miss path: without it the first ~3,000 misses wait 20-30 ms and make p99).
# 3. vrf-resolver RSS after loading FILL_NAMES distinct names (CacheMaxEntries=200000).
#
# Everything listens on 127.0.0.1/127.0.0.2; nothing leaves the host and no system resolver is
# used. The upstream is dnsmasq on 127.0.0.2:UP_PORT, authoritative for bench.test only
# (host-records for the hit names, --address wildcard for the rest, TTL 3600).
# Cores: the server under test is pinned to SERVER_CPU, dnsperf and the upstream to LOADGEN_CPU.
# dnsmasq's cache is HIT_NAMES entries: it holds the hit names, and a full dnsmasq cache scans
# its entries on every insert (perf: difftime and one loop, over 70% of its time), so its cost
# per miss grows with the cache: 53 us with 150 entries (its default), 58 with 1000, 210 with
# 10000, at 3000 q/s on our 2-core VM. The old 10000 made dnsmasq's misses look 4x dearer.
# Settings: dnsmasq forwarder cache-size=HIT_NAMES, dns-forward-max=1024; unbound num-threads 1, module
# iterator only, forward-zone "." ; vrf-resolver CacheMaxEntries=200000, other keys default.
# p50/p99 come from dnsperf -v (one line per answered query); lost queries are not in them.
# Raw output: bench/results/{env,host,dnsperf,resolvers}.raw; summary: bench/results/latest.md.
#
# Environment (defaults in brackets):
#   DURATION [20]        seconds per load run        CLIENTS [8]       dnsperf -c
#   MAX_QPS [200000]     dnsperf -Q                  OUTSTANDING [100] dnsperf -q
#   SERVER_CPU [1]       LOADGEN_CPU [0]             PORT_BASE [15300] ports PORT_BASE+1..+4, +99
#   MISS_NAMES [1500000] unique names for test 2     FILL_NAMES [100000] names for test 3
#   HIT_NAMES [1000]     names for test 1            MISS_QPS [5000]   dnsperf -Q for test 2
#   HIT_FIXED_QPS [20000] dnsperf -Q of test 1's latency run   WARM_NAMES [20000] test 2's warm-up names
#   PROFILE [auto]       1: always, 0: never, auto: when vrf-resolver is slower than dnsmasq on hits,
#                        run one more hit run under `node --cpu-prof` and print the top self-time
#   VRF_MAIN [dist/main.js]  the vrf-resolver entry point to benchmark
#   TESTS [hit,miss,fill]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
RESULTS=$BENCH/results
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-8}
MAX_QPS=${MAX_QPS:-200000}
OUTSTANDING=${OUTSTANDING:-100}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PORT_BASE=${PORT_BASE:-15300}
MISS_NAMES=${MISS_NAMES:-1500000}
FILL_NAMES=${FILL_NAMES:-100000}
HIT_NAMES=${HIT_NAMES:-1000}
MISS_QPS=${MISS_QPS:-5000}
HIT_FIXED_QPS=${HIT_FIXED_QPS:-20000}
WARM_NAMES=${WARM_NAMES:-20000}
PROFILE=${PROFILE:-auto}
VRF_MAIN=${VRF_MAIN:-$ROOT/dist/main.js}
TESTS=${TESTS:-hit,miss,fill}

UP_ADDR=127.0.0.2
UP_PORT=$((PORT_BASE + 99))
LISTEN=127.0.0.1
declare -A PORT=([vrf-resolver]=$((PORT_BASE + 1)) [dnsmasq]=$((PORT_BASE + 2)) [unbound]=$((PORT_BASE + 3)))
FILL_PORT=$((PORT_BASE + 4))
RESOLVERS=(vrf-resolver dnsmasq unbound)

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- preflight
for tool in dnsperf dnsmasq unbound dig taskset node awk ss; do
  command -v "$tool" >/dev/null || {
    [[ $tool == dnsperf ]] && { log "installing dnsperf"; apt-get install -y dnsperf >/dev/null; continue; }
    die "missing $tool (apt-get install dnsperf dnsmasq-base unbound bind9-dnsutils util-linux)"
  }
done
require_root_and_cpus "$SERVER_CPU" "$LOADGEN_CPU"
require_free_ports "$UP_PORT" "${PORT[@]}" "$FILL_PORT"

mkdir -p "$RESULTS"
make_scratch vrf-bench
VRF_NODE_FLAGS=() # --cpu-prof for the profiled run

forget_pid() { local p=$1 i; for i in "${!PIDS[@]}"; do [[ ${PIDS[$i]} == "$p" ]] && unset 'PIDS[i]'; done; return 0; }
stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat" 2>/dev/null || echo 0 0; } # utime stime (all threads)
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
UPARGS=()
for i in $(seq "$HIT_NAMES"); do
  echo "h$i.bench.test A" >>"$HITQ"
  UPARGS+=("--host-record=h$i.bench.test,10.$((i / 256)).$((i % 256)).1")
done
awk -v n="$MISS_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "n" i ".bench.test A"}' >"$MISSQ"
awk -v n="$FILL_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "f" i ".bench.test A"}' >"$FILLQ"
awk -v n="$WARM_NAMES" 'BEGIN {for (i = 1; i <= n; i++) print "w" i ".bench.test A"}' >"$WARMQ"

: >"$RESULTS/host.raw"
{
  echo "date: $(date -Is)"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "node: $(node --version)  dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')  dnsmasq: $(dnsmasq --version | awk 'NR == 1 {print $3}')  unbound: $(unbound -V | awk 'NR == 1 {print $2}')"
  echo "vrf-resolver: $VRF_MAIN (mtime $(stat -c %y "$VRF_MAIN"))"
  newest_src=$(find "$ROOT/src" -name '*.ts' -printf '%T@ %p\n' | sort -n | tail -1)
  echo "newest src: ${newest_src#* } (mtime $(date -d "@${newest_src%% *}" -Is))"
  echo "pinning: server cpu$SERVER_CPU; dnsperf + upstream cpu$LOADGEN_CPU"
  echo "dnsperf: -l $DURATION -c $CLIENTS -q $OUTSTANDING -Q $MAX_QPS"
} >"$RESULTS/env.raw"
snapshot_host start

# ---------------------------------------------------------------- upstream
start_bg "$LOADGEN_CPU" "$TMP/upstream.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
  --no-hosts --no-poll --user=root --pid-file= --bind-interfaces --listen-address=$UP_ADDR --port="$UP_PORT" \
  --local=/bench.test/ --address=/bench.test/192.0.2.1 --local-ttl=3600 --cache-size=0 --dns-forward-max=4096 \
  "${UPARGS[@]}"
UP_PID=$STARTED_PID
wait_ready $UP_ADDR "$UP_PORT" h1.bench.test

# ---------------------------------------------------------------- resolvers under test
start_resolver() { # name [port] -> RES_PID
  local name=$1 port=${2:-${PORT[$1]}}
  case $name in
    vrf-resolver)
      printf '[Resolve]\nCacheMaxEntries=200000\n' >"$TMP/vrf.conf"
      start_bg "$SERVER_CPU" "$TMP/$name.$port.log" node "${VRF_NODE_FLAGS[@]}" "$VRF_MAIN" run \
        --config "$TMP/vrf.conf" --listen "$LISTEN:$port" --upstream "$UP_ADDR:$UP_PORT" --log-level info ;;
    dnsmasq)
      start_bg "$SERVER_CPU" "$TMP/$name.$port.log" dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --no-resolv --no-hosts --no-poll --user=root --pid-file= --bind-interfaces --listen-address=$LISTEN \
        --port="$port" --server="$UP_ADDR#$UP_PORT" --cache-size="$HIT_NAMES" --dns-forward-max=1024 ;;
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
# busy_gen_core_pct usr_us_per_query sys_us_per_query".
dnsperf_run() { # tag addr port queryfile pid extra-args...
  local tag=$1 addr=$2 port=$3 qf=$4 pid=$5; shift 5
  local out=$TMP/$tag.dnsperf u0 u1 k0 k1 q0 q1 qu h0 h1 s0 s1 l0 l1 t0 t1 start end
  read -r qu q0 < <(cpu_ticks "${SOFTIRQ_PID:-0}"); q0=$((qu + q0))
  read -r u0 k0 < <(cpu_ticks "$pid"); read -r h0 s0 < <(host_busy "$SERVER_CPU"); read -r l0 t0 < <(host_busy "$LOADGEN_CPU")
  start=$(date +%s.%N)
  timeout --kill-after=5 $((${LIMIT:-$DURATION} + 30)) taskset -c "$LOADGEN_CPU" \
    dnsperf -s "$addr" -p "$port" -d "$qf" -l "${LIMIT:-$DURATION}" -c "$CLIENTS" -q "$OUTSTANDING" -Q "${QPS:-$MAX_QPS}" -t 5 -v "$@" >"$out" 2>&1 || true
  end=$(date +%s.%N)
  read -r qu q1 < <(cpu_ticks "${SOFTIRQ_PID:-0}"); q1=$((qu + q1))
  read -r u1 k1 < <(cpu_ticks "$pid"); read -r h1 s1 < <(host_busy "$SERVER_CPU"); read -r l1 t1 < <(host_busy "$LOADGEN_CPU")
  { echo "### $tag $(date -Is)"; grep -v '^>' "$out"; } >>"$RESULTS/dnsperf.raw"
  local hz; hz=$(getconf CLK_TCK)
  awk -v ut=$((u1 - u0)) -v kt=$((k1 - k0 + q1 - q0)) -v hz="$hz" -v wall="$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" \
      -v hb=$((h1 - h0)) -v ht=$((s1 - s0)) -v lb=$((l1 - l0)) -v lt=$((t1 - t0)) '
    /^> / { n++; us = int($NF * 1e6 + 0.5); h[us]++; if (us > max) max = us; next }
    /Queries per second:/ { qps = $4 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $4; gsub(/[()%]/, "", lost) }
    /Average Latency \(s\):/ { avg = $4 }
    END {
      p50 = p99 = 0; acc = 0
      for (us = 0; us <= max; us++) { acc += h[us]; if (!p50 && acc >= 0.5 * n) p50 = us; if (!p99 && acc >= 0.99 * n) { p99 = us; break } }
      printf "%s %.3f %.3f %.3f %s %s %.0f %.0f %.0f %.1f %.1f\n", qps, avg * 1000, p50 / 1000, p99 / 1000, lost, done,
        100 * (ut + kt) / hz / wall, ht ? 100 * hb / ht : 0, lt ? 100 * lb / lt : 0,
        done ? 1e6 * ut / hz / done : 0, done ? 1e6 * kt / hz / done : 0
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
ROW() { printf '| %s | %s | %s | %s | %s | %s%% | %s%% | %s | %s%% / %s%% | %s |\n' "$@"; }
fmt_row() { # name "qps avg p50 p99 lost done srvcpu hostsrv hostgen" rss
  local name=$1 rss=$3 qps avg p50 p99 lost done scpu hs hg uq kq
  read -r qps avg p50 p99 lost done scpu hs hg uq kq <<<"$2"
  ROW "$name" "$(printf '%.0f' "$qps")" "$avg" "$p50" "$p99" "$lost" "$scpu" \
    "$(awk -v u="$uq" -v k="$kq" 'BEGIN {printf "%.1f (%.1f+%.1f)", u + k, u, k}')" "$hs" "$hg" "$rss"
}
HDR='| resolver | qps | avg ms | p50 ms | p99 ms | lost | server CPU | CPU µs/query (usr+sys) | core busy srv / gen | RSS MiB |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'

if [[ ,$TESTS, == *,hit,* ]]; then
  log "test 1: cache hits ($HIT_NAMES names, ${DURATION}s each)"
  HIT_TABLE=$HDR$'\n' HITFIX_TABLE=$HDR$'\n'
  HIT_TABLE+=$(fmt_row "upstream (direct, no cache)" "$(dnsperf_run hit-upstream $UP_ADDR "$UP_PORT" "$HITQ" "$UP_PID")" "-")$'\n'
  for r in "${RESOLVERS[@]}"; do
    start_resolver "$r"
    r0=$(rss_kib "$RES_PID")
    warm "${PORT[$r]}"
    r1=$(rss_kib "$RES_PID")
    res=$(dnsperf_run "hit-$r" $LISTEN "${PORT[$r]}" "$HITQ" "$RES_PID")
    r2=$(rss_kib "$RES_PID")
    HIT[$r]=$res
    log "  $r: $res"
    HIT_TABLE+=$(fmt_row "$r" "$res" "$(mib "$r0") → $(mib "$r1") → $(mib "$r2")")$'\n'
    res=$(QPS=$HIT_FIXED_QPS dnsperf_run "hitfixed-$r" $LISTEN "${PORT[$r]}" "$HITQ" "$RES_PID")
    log "  $r at $HIT_FIXED_QPS q/s: $res"
    HITFIX_TABLE+=$(fmt_row "$r" "$res" "$(mib "$(rss_kib "$RES_PID")")")$'\n'
    stop_resolver "$RES_PID" "$r" "${PORT[$r]}"
  done
  snapshot_host after-hit
fi

if [[ ,$TESTS, == *,miss,* ]]; then
  log "test 2: cache misses (unique names at $MISS_QPS q/s, ${DURATION}s each)"
  MISS_TABLE=$HDR$'\n'
  MISS_TABLE+=$(fmt_row "upstream (direct)" "$(QPS=$MISS_QPS dnsperf_run miss-upstream $UP_ADDR "$UP_PORT" "$MISSQ" "$UP_PID" -n 1)" "-")$'\n'
  for r in "${RESOLVERS[@]}"; do
    start_resolver "$r"
    QPS=$MISS_QPS dnsperf_run "warm-$r" $LISTEN "${PORT[$r]}" "$WARMQ" "$RES_PID" -n 1 >/dev/null
    r0=$(rss_kib "$RES_PID")
    res=$(QPS=$MISS_QPS dnsperf_run "miss-$r" $LISTEN "${PORT[$r]}" "$MISSQ" "$RES_PID" -n 1)
    r2=$(rss_kib "$RES_PID")
    MISS[$r]=$res
    log "  $r: $res"
    MISS_TABLE+=$(fmt_row "$r" "$res" "$(mib "$r0") → $(mib "$r2")")$'\n'
    stop_resolver "$RES_PID" "$r" "${PORT[$r]}"
  done
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
  VRF_NODE_FLAGS=()
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
    echo "$HITFIX_TABLE"; echo
  fi
  if [[ -n ${MISS_TABLE:-} ]]; then
    echo "## 2. Cache misses (unique names at $MISS_QPS q/s, at most one pass over $MISS_NAMES, after $WARM_NAMES others as warm-up; RSS: after warm-up → after run)"; echo
    echo "$MISS_TABLE"; echo
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
  echo "CPU µs/query: the resolver's user+system CPU time, plus the server core's ksoftirqd (counted as sys), divided by completed queries (robust when the load generator is the bottleneck)."
  echo "core busy: all processes on the server core / on the load-generator core (others' jobs included; on our VM /proc/stat under-counts a lightly loaded core: 1% while dnsmasq alone used 23% of it)."
  echo "Load average at start and end: $(grep -A1 '^== start' "$RESULTS/host.raw" | tail -1 | sed 's/.*load average: //') / $(uptime | sed 's/.*load average: //')"
} >"$RESULTS/latest.md"
cat "$RESULTS/latest.md"
