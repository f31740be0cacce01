#!/usr/bin/env bash
# Soak benchmark: does vrf-resolver's memory stay flat under an endless stream of new names?
#
# vrf-resolver (CacheMaxEntries=$CACHE_MAX) forwards to an NSD upstream on 127.0.0.2 (as in
# bench/run.sh) that answers every name under soak.test from a wildcard with a cacheable A record
# (TTL 3600). The resolver runs with the units' malloc environment, as in bench/run.sh. dnsperf sends
# random, never-repeating names (one pass, -n 1, over a generated file) at $QPS q/s for
# $DURATION s, so the cache fills up to its cap within the first seconds and then evicts one
# entry per query. Every $INTERVAL s the resolver's VmRSS and VmHWM are sampled, and a SIGHUP
# (a reload of the same file and flags: nothing changes, the cache is kept) makes it log
# its cache entry count. Loopback only; every process is bounded in time and killed on exit.
#
#   sudo bench/soak.sh                        # 10 minutes
#   sudo DURATION=120 QPS=2000 bench/soak.sh  # shorter
#
# Results: bench/results/soak.md (summary) and bench/results/soak.raw (samples, dnsperf output,
# resolver log).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=${RESULTS:-$ROOT/bench/results}
DURATION=${DURATION:-600}         # seconds of load
QPS=${QPS:-3000}                  # dnsperf -Q: sustained query rate
CACHE_MAX=${CACHE_MAX:-50000}     # CacheMaxEntries= of the resolver under test
CACHE_MIB=${CACHE_MIB:-}          # CacheMaxMiB= (default: the resolver's, 64); e.g. CACHE_MAX=1000000
                                  # CACHE_MIB=16 to see the byte bound hold instead of the count
INTERVAL=${INTERVAL:-10}          # seconds between samples
IDLE_AFTER=${IDLE_AFTER:-20}      # seconds sampled after the load stops
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
NAMES=${NAMES:-}                  # unique names generated; default QPS * (DURATION + 60), at least 3M
HUP_ENTRIES=${HUP_ENTRIES:-1}     # 0: no SIGHUP, cache entries only at the end
FLAT_PCT=${FLAT_PCT:-5}           # "flat": post-fill trend grows RSS by less than this % (or 5 MiB)
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
PORT_BASE=${PORT_BASE:-15400}     # run.sh uses 15300
VRF_MAIN=${VRF_MAIN:-$ROOT/dist/main.js}
NODE_FLAGS=${NODE_FLAGS:-}             # extra node flags, e.g. --trace-gc

UP_ADDR=127.0.0.2
UP_PORT=$((PORT_BASE + 99))
LISTEN=127.0.0.1
PORT=$((PORT_BASE + 1))
[[ -n $NAMES ]] || NAMES=$(( QPS * (DURATION + 60) > 3000000 ? QPS * (DURATION + 60) : 3000000 ))

BENCH_NAME=soak
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
log() { echo "soak: $(date +%T) $*" >&2; }

# ---------------------------------------------------------------- preflight
for tool in dnsperf dig taskset node awk ss timeout pgrep; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install dnsperf bind9-dnsutils util-linux)"
done
if ! command -v nsd >/dev/null; then
  log "installing nsd (its service is neither started nor left enabled at boot)"
  install_without_starting nsd
  disable_boot_start nsd
fi
require_root_and_cpus "$SERVER_CPU" "$LOADGEN_CPU"
(( DURATION >= 120 )) || die "DURATION must be at least 120 s (first and last minute)"
require_free_ports "$UP_PORT" "$PORT"

mkdir -p "$RESULTS"
make_scratch vrf-soak

status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- inputs
log "generating $NAMES unique names"
QF=$TMP/soak.q
# A random 6-hex-digit prefix, then the line number in hex: random-looking, and never repeated.
awk -v n="$NAMES" 'BEGIN {srand(); for (i = 1; i <= n; i++) printf "%06x%x.soak.test A\n", int(rand() * 16777216), i}' >"$QF"
printf '[Resolve]\nCacheMaxEntries=%s\n' "$CACHE_MAX" >"$TMP/vrf.conf"
[[ -z $CACHE_MIB ]] || printf 'CacheMaxMiB=%s\n' "$CACHE_MIB" >>"$TMP/vrf.conf"
CACHE_DESC="CacheMaxEntries=$CACHE_MAX${CACHE_MIB:+ CacheMaxMiB=$CACHE_MIB}"

# ---------------------------------------------------------------- upstream and resolver
{
  printf '$ORIGIN soak.test.\n$TTL 3600\n'
  echo "@ SOA ns.soak.test. hostmaster.soak.test. 1 3600 900 604800 3600"
  echo "@ NS ns"
  echo "ns A $UP_ADDR"
  echo "* A 192.0.2.1"
} >"$TMP/soak.test.zone"
start_nsd "$LOADGEN_CPU" $UP_ADDR "$UP_PORT" soak.test "$TMP/soak.test.zone"
wait_ready $UP_ADDR "$UP_PORT" ready.soak.test

# taskset execs timeout(1), which forks node: $RES_PID is node itself, for /proc and SIGHUP.
start_bg "$SERVER_CPU" "$TMP/resolver.log" timeout --kill-after=5 $((DURATION + 300)) \
  env MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 node $NODE_FLAGS "$VRF_MAIN" run \
  --config "$TMP/vrf.conf" --listen "$LISTEN:$PORT" --upstream "$UP_ADDR:$UP_PORT" --log-level info
for _ in $(seq 50); do RES_PID=$(pgrep -P "$STARTED_PID" -x node || true); [[ -n $RES_PID ]] && break; sleep 0.1; done
[[ -n $RES_PID ]] || die "the resolver did not start (see $TMP/resolver.log)"
wait_ready $LISTEN "$PORT" ready.soak.test

{
  echo "date: $(date -Is)  kernel: $(uname -r)  cpus: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "node: $(node --version)  dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')  nsd: $(nsd -v 2>&1 | awk 'NR == 1 {print $3}')"
  echo "vrf-resolver: $VRF_MAIN (mtime $(stat -c %y "$VRF_MAIN" | cut -d. -f1))"
  echo "config: $CACHE_DESC (other keys default); node flags: ${NODE_FLAGS:-none}; upstream nsd, *.soak.test A 192.0.2.1 TTL 3600; resolver env MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072"
  echo "load: dnsperf -n 1 -l $DURATION -Q $QPS -c $CLIENTS -q $OUTSTANDING -t 5 over $NAMES unique names"
  echo "pinning: resolver cpu$SERVER_CPU; dnsperf + upstream cpu$LOADGEN_CPU; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/env"

# ---------------------------------------------------------------- sampling
reloads() { grep -c '"msg":"configuration reloaded' "$TMP/resolver.log" || true; }
entries_now() { # SIGHUP, then the cacheEntries of the new "configuration reloaded" line, or "-"
  (( HUP_ENTRIES )) || { echo -; return; }
  local before; before=$(reloads)
  kill -HUP "$RES_PID" 2>/dev/null || { echo -; return; }
  for _ in $(seq 20); do
    (( $(reloads) > before )) && break
    sleep 0.05
  done
  if (( $(reloads) > before )); then
    grep '"msg":"configuration reloaded' "$TMP/resolver.log" | tail -1 | sed -n 's/.*"cacheEntries":\([0-9]*\).*/\1/p'
  else
    echo -
  fi
}
SAMPLES=$TMP/samples
echo -e "t_s\tphase\trss_kib\thwm_kib\tcache_entries\tcpu_ticks" >"$SAMPLES"
T0=$(date +%s.%N)
sample() { # phase
  local t; t=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
  kill -0 "$RES_PID" 2>/dev/null || die "the resolver died (see $TMP/resolver.log)"
  local rss hwm; rss=$(status_kib "$RES_PID" VmRSS); hwm=$(status_kib "$RES_PID" VmHWM)
  echo -e "$t\t$1\t$rss\t$hwm\t$(entries_now)\t$(cpu_ticks "$RES_PID")" >>"$SAMPLES"
}
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%d", b - a}'; }
sleep_until() { # seconds since T0
  local d; d=$(awk -v a="$T0" -v b="$(date +%s.%N)" -v t="$1" 'BEGIN {d = a + t - b; printf "%.3f", (d > 0 ? d : 0)}')
  sleep "$d"
}

sample idle
log "load: $QPS q/s for $DURATION s against $LISTEN:$PORT ($CACHE_DESC)"
taskset -c "$LOADGEN_CPU" timeout --kill-after=5 $((DURATION + 30)) \
  dnsperf -s $LISTEN -p "$PORT" -d "$QF" -n 1 -l "$DURATION" -Q "$QPS" -c "$CLIENTS" -q "$OUTSTANDING" -t 5 -S "$INTERVAL" \
  >"$TMP/dnsperf.out" 2>&1 &
PERF_PID=$!
PIDS+=("$PERF_PID")
k=1
while kill -0 "$PERF_PID" 2>/dev/null; do
  # Sleep until the next sample is due, or until dnsperf ends.
  while kill -0 "$PERF_PID" 2>/dev/null && [[ $(elapsed) -lt $((k * INTERVAL)) ]]; do sleep 0.2; done
  kill -0 "$PERF_PID" 2>/dev/null || break
  sample load
  (( k % 6 == 0 )) && log "t=$((k * INTERVAL))s $(tail -1 "$SAMPLES" | awk '{printf "RSS %.1f MiB, entries %s", $3 / 1024, $5}')"
  k=$((k + 1))
done
wait "$PERF_PID" || true
LOAD_END=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
for (( i = 1; i * INTERVAL <= IDLE_AFTER; i++ )); do
  sleep_until $((LOAD_END + i * INTERVAL)); sample after
done

kill -TERM "$RES_PID"
for _ in $(seq 100); do kill -0 "$RES_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RES_PID" 2>/dev/null && log "resolver did not stop on SIGTERM within 10 s"
STOPPED=$(grep '"msg":"stopped"' "$TMP/resolver.log" | tail -1 || true)
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$STOPPED"; }

# ---------------------------------------------------------------- analysis
SENT=$(awk '/Queries sent:/ {print $3}' "$TMP/dnsperf.out")
DONE=$(awk '/Queries completed:/ {print $3}' "$TMP/dnsperf.out")
LOST=$(awk '/Queries lost:/ {print $3}' "$TMP/dnsperf.out")
LOSTPCT=$(awk '/Queries lost:/ {gsub(/[()]/, "", $4); print $4}' "$TMP/dnsperf.out")
RATE=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$TMP/dnsperf.out")
AVGLAT=$(awk '/Average Latency \(s\):/ {printf "%.2f", $4 * 1000}' "$TMP/dnsperf.out")
RCODES=$(awk '/Response codes:/ {$1 = $2 = ""; sub(/^ +/, ""); print}' "$TMP/dnsperf.out")
RUNTIME=$(awk '/Run time \(s\):/ {printf "%.0f", $4}' "$TMP/dnsperf.out")

# One awk pass over the samples: summary values as shell assignments.
eval "$(awk -F'\t' -v cap="$CACHE_MAX" -v qps="$QPS" -v flatpct="$FLAT_PCT" -v hz="$(getconf CLK_TCK)" '
  BEGIN { n = 0; first = -1 }
  NR == 1 { next }
  { t[n] = $1; ph[n] = $2; r[n] = $3; h[n] = $4; e[n] = $5; c[n] = $6; n++ }
  END {
    idle = r[0]; min = 1e18; max = 0; hwm = 0; fill = -1
    for (i = 0; i < n; i++) { if (ph[i] != "load") continue; last = i; if (first < 0) first = i }
    tend = t[last]
    for (i = first; i <= last; i++) {
      if (r[i] < min) min = r[i]; if (r[i] > max) max = r[i]; if (h[i] > hwm) hwm = h[i]
      if (t[i] <= 60) { f1s += r[i]; f1n++; if (!f1min || r[i] < f1min) f1min = r[i]; if (r[i] > f1max) f1max = r[i] }
      if (t[i] > tend - 60) { l1s += r[i]; l1n++; if (!l1min || r[i] < l1min) l1min = r[i]; if (r[i] > l1max) l1max = r[i] }
      # Full: at the entry cap, or no longer growing (the byte bound, CacheMaxMiB, holds it).
      if (fill < 0 && e[i] != "-" && (e[i] + 0 >= cap || (i > first && e[i - 1] != "-" && e[i] + 0 <= e[i - 1] + 0))) fill = t[i]
      if (e[i] != "-" && e[i] + 0 > emax) emax = e[i] + 0
    }
    fillsrc = "entries"
    if (fill < 0) { fill = int(cap / qps) + 30; fillsrc = "estimated" }
    # Trend after the cache is full: least squares over the samples from one minute after it filled.
    from = fill + 60
    for (i = first; i <= last; i++) if (t[i] >= from) { m++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i] }
    slope = (m > 2) ? (m * sxy - sx * sy) / (m * sxx - sx * sx) : 0   # KiB per s
    span = tend - from; growth = slope * span; mean = m ? sy / m : 0
    flat = (m > 2 && (growth < mean * flatpct / 100 || growth < 5 * 1024)) ? "yes" : (m > 2 ? "no" : "unknown")
    cpu = (c[last] - c[first]) / hz / (t[last] - t[first]) * 100
    printf "IDLE=%d MIN=%d MAX=%d HWM=%d F1MEAN=%.0f F1MIN=%d F1MAX=%d L1MEAN=%.0f L1MIN=%d L1MAX=%d\n", idle, min, max, hwm, f1s / f1n, f1min, f1max, l1s / l1n, l1min, l1max
    printf "FILL_T=%d FILL_SRC=%s TREND_FROM=%d TREND_N=%d SLOPE_MIB_MIN=%.2f GROWTH_MIB=%.1f FLAT=%s EMAX=%s CPU_PCT=%.0f LOAD_T=%d\n", fill, fillsrc, from, m, slope * 60 / 1024, growth / 1024, flat, emax ? emax : "-", cpu, tend
  }' "$SAMPLES")"

FINAL_ENTRIES=$(stat_of cacheEntries)
ENTRIES_OK="unknown"
if [[ -n $FINAL_ENTRIES ]]; then
  (( FINAL_ENTRIES <= CACHE_MAX )) && ENTRIES_OK="yes (≤ $CACHE_MAX)" || ENTRIES_OK="NO: $FINAL_ENTRIES > $CACHE_MAX"
fi
[[ $EMAX != - ]] && (( EMAX > CACHE_MAX )) && ENTRIES_OK="NO: $EMAX seen during the run > $CACHE_MAX"
UPSTREAM_FAIL=$(grep -c '"msg":"upstream failed' "$TMP/resolver.log" || true)
WARNS=$(grep -c '"level":"\(warn\|error\|fatal\)"' "$TMP/resolver.log" || true)

# ---------------------------------------------------------------- raw + report
{
  echo "# vrf-resolver soak: raw samples (t_s since start; rss/hwm in KiB; cache_entries from a SIGHUP reload line; cpu_ticks = utime+stime)"
  cat "$TMP/env"; echo
  cat "$SAMPLES"; echo
  echo "### dnsperf"; cat "$TMP/dnsperf.out"; echo
  echo "### resolver log (reload lines omitted; first 20 warnings)"
  grep -v '"msg":"\(reloading the configuration\|configuration reloaded\)' "$TMP/resolver.log" | awk '/"level":"(warn|error)"/ && ++w > 20 {next} {print}'
} >"$RESULTS/soak.raw"

{
  echo "# vrf-resolver soak: $DURATION s of never-repeating names"
  echo
  echo '```'; cat "$TMP/env"; echo '```'
  echo
  echo "## RSS (MiB)"
  echo
  echo "| idle, before load | min under load | first minute (mean, range) | last minute (mean, range) | max under load | peak VmHWM |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
  echo "| $(mib "$IDLE") | $(mib "$MIN") | $(mib "$F1MEAN") ($(mib "$F1MIN")–$(mib "$F1MAX")) | $(mib "$L1MEAN") ($(mib "$L1MIN")–$(mib "$L1MAX")) | $(mib "$MAX") | $(mib "$HWM") |"
  echo
  echo "- Cache full at t≈${FILL_T} s ($FILL_SRC); most entries seen during the run: $EMAX; at stop: ${FINAL_ENTRIES:-?}. Capped at CacheMaxEntries=$CACHE_MAX: $ENTRIES_OK.${CACHE_MIB:+ CacheMaxMiB=$CACHE_MIB.}"
  echo "- **Flat after the cache filled: $FLAT.** Least-squares trend over the $TREND_N samples from t=${TREND_FROM} s to t=${LOAD_T} s: $SLOPE_MIB_MIN MiB/min, $GROWTH_MIB MiB over that span (flat: less than $FLAT_PCT% of the mean, or 5 MiB)."
  echo "- Resolver CPU under load: $CPU_PCT% of one core. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs on the host included)."
  echo
  echo "## Queries"
  echo
  echo "| sent | answered | lost | rate | avg latency | dnsperf run time | response codes |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  echo "| ${SENT:-?} | ${DONE:-?} | ${LOST:-?} (${LOSTPCT:-?}) | ${RATE:-?} q/s | ${AVGLAT:-?} ms | ${RUNTIME:-?} s | ${RCODES:-?} |"
  echo
  echo "Resolver counters at stop: queries $(stat_of queries), cache hits $(stat_of cacheHits), misses $(stat_of cacheMisses), upstream queries $(stat_of upstreamQueries), upstream failures $(stat_of upstreamFailures), servfail $(stat_of servfail), dropped $(stat_of dropped); log lines at warn or worse: $WARNS ($UPSTREAM_FAIL \"upstream failed\")."
  echo
  echo "## Samples every $INTERVAL s"
  echo
  echo "| t (s) | phase | RSS MiB | VmHWM MiB | cache entries |"
  echo "| ---: | --- | ---: | ---: | ---: |"
  awk -F'\t' 'NR > 1 {printf "| %s | %s | %.1f | %.1f | %s |\n", $1, $2, $3 / 1024, $4 / 1024, $5}' "$SAMPLES"
  echo
  echo "Raw samples, dnsperf output and the resolver log: bench/results/soak.raw."
} >"$RESULTS/soak.md"
log "done: $RESULTS/soak.md (RSS first minute $(mib "$F1MEAN") MiB, last minute $(mib "$L1MEAN") MiB, flat: $FLAT)"
