#!/usr/bin/env bash
# Why did dnsmasq's cache miss cost 85-138 µs in bench/run.sh and 21.7-29.8 µs in issue 13's
# harness? Runs bench/run.sh's miss test (TESTS=miss) once per setting below, REPEAT times in
# turn (A B C ... A B C ...), and tabulates the CPU per answered miss (server + its core's
# ksoftirqd) of each resolver. Each run of run.sh is one row: vrf-resolver and dnsmasq are
# measured in the same run, so their ratio is the figure to compare across rows; absolute
# figures move with the host's other load (compare rows within one invocation only).
#
#   sudo PORT_BASE=16300 VRF_MAIN=/tmp/frozen/dist/main.js bench/miss-factors.sh
#
# Writes bench/results/miss-factors.md (table) and bench/results/miss-factors/ (each run's
# results folder and log). Settings: REPEAT [2], DURATION [10] (fixed-rate runs), RESOLVERS
# [dnsmasq,vrf-resolver], ONLY (comma list of setting numbers, 1-based; default all).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${RESULTS:-$ROOT/bench/results}
REPEAT=${REPEAT:-2}
export DURATION=${DURATION:-10} PROFILE=0 TESTS=miss RESOLVERS=${RESOLVERS:-dnsmasq,vrf-resolver}

# label | environment for run.sh (the variables it documents)
SETTINGS=(
  "old bench: dnsmasq upstream, fixed 5000 q/s, cache 1000|UPSTREAM=dnsmasq MISS_MODE=fixed MISS_QPS=5000 DNSMASQ_CACHE=1000"
  "NSD upstream, fixed 5000 q/s, cache 1000|UPSTREAM=nsd MISS_MODE=fixed MISS_QPS=5000 DNSMASQ_CACHE=1000"
  "dnsmasq upstream, closed loop, cache 1000|UPSTREAM=dnsmasq MISS_MODE=closed DNSMASQ_CACHE=1000"
  "NSD upstream, closed loop, cache 1000 (new default)|UPSTREAM=nsd MISS_MODE=closed DNSMASQ_CACHE=1000"
  "NSD upstream, fixed 10000 q/s, cache 1000|UPSTREAM=nsd MISS_MODE=fixed MISS_QPS=10000 DNSMASQ_CACHE=1000"
  "NSD upstream, fixed 20000 q/s, cache 1000|UPSTREAM=nsd MISS_MODE=fixed MISS_QPS=20000 DNSMASQ_CACHE=1000"
  "NSD upstream, closed loop, cache 150 (dnsmasq default)|UPSTREAM=nsd MISS_MODE=closed DNSMASQ_CACHE=150"
  "NSD upstream, closed loop, cache 10000|UPSTREAM=nsd MISS_MODE=closed DNSMASQ_CACHE=10000"
  "NSD upstream, fixed 5000 q/s, cache 10000|UPSTREAM=nsd MISS_MODE=fixed MISS_QPS=5000 DNSMASQ_CACHE=10000"
  "NSD upstream, closed loop, cache 1000, dns-forward-max 150 (default)|UPSTREAM=nsd MISS_MODE=closed DNSMASQ_CACHE=1000 DNSMASQ_FWD_MAX=150"
)
if [[ -n ${ONLY:-} ]]; then
  keep=()
  IFS=, read -r -a nums <<<"$ONLY"
  for n in "${nums[@]}"; do keep+=("${SETTINGS[n - 1]}"); done
  SETTINGS=("${keep[@]}")
fi
IFS=, read -r -a RES <<<"$RESOLVERS"

# Other jobs on the host skew a run (they share both cores). Before each run, wait until no core
# was more than QUIET_PCT % busy over 2 s, for at most QUIET_WAIT s; the cell says if it never was.
QUIET_PCT=${QUIET_PCT:-15} QUIET_WAIT=${QUIET_WAIT:-240}
max_busy_pct() { # the busiest core's busy % over 2 s
  local a b
  a=$(grep '^cpu[0-9]' /proc/stat); sleep 2; b=$(grep '^cpu[0-9]' /proc/stat)
  printf '%s\n%s\n' "$a" "$b" | awk '
    {t = 0; for (i = 2; i <= NF; i++) t += $i; idle = $5 + $6}
    !($1 in T) {T[$1] = t; I[$1] = idle; next}
    {dt = t - T[$1]; if (dt > 0) {p = 100 * (dt - (idle - I[$1])) / dt; if (p > m) m = p}}
    END {printf "%.0f", m}'
}
wait_quiet() { # -> "" when quiet, else "busy N%"
  local start=$SECONDS b
  while :; do
    b=$(max_busy_pct)
    (( b < QUIET_PCT )) && { echo ""; return; }
    (( SECONDS - start >= QUIET_WAIT )) && { echo "host busy $b%"; return; }
    sleep 3
  done
}

mkdir -p "$OUT/miss-factors"
rm -rf "${OUT:?}/miss-factors/"*
declare -A CELL
for rep in $(seq "$REPEAT"); do
  for i in "${!SETTINGS[@]}"; do
    label=${SETTINGS[i]%%|*} envs=${SETTINGS[i]#*|}
    dir=$OUT/miss-factors/$((i + 1)).$rep
    mkdir -p "$dir"
    quiet=$(wait_quiet)
    echo "miss-factors: run $rep, setting $((i + 1)): $envs ${quiet:+($quiet before the run)}" >&2
    # shellcheck disable=SC2086 # envs is a list of NAME=value words
    env $envs MISS_REPEAT=1 RESULTS="$dir" timeout --kill-after=10 600 bash "$ROOT/bench/run.sh" >"$dir/stdout" 2>"$dir/log" ||
      echo "miss-factors: run.sh failed, see $dir/log" >&2
    for r in "${RES[@]}"; do
      # run.sh logs "bench:   NAME: qps avg p50 p99 lost done srvcpu hs hg usr_us sys_us noerror"
      line=$(sed -n "s/^bench:   $r: //p" "$dir/log" | tail -1)
      cell=$(awk -v q="$quiet" '{if (NF >= 12) printf "**%.1f** (%.1f+%.1f), %.0f q/s, lost %s%%, p99 %s ms, cpu %s%% (core %s%%)%s%s", $10 + $11, $10, $11, $1, $5, $4, $7, $8, (NF >= 13 ? ", " $13 " sleeps/q" : ""), (q ? ", " q " before" : ""); else print "failed"}' <<<"${line:-x}")
      CELL[$i,$r]+="${CELL[$i,$r]:+<br>}$cell"
      echo "miss-factors:   $r: $cell" >&2
    done
    ratio=$(for r in vrf-resolver dnsmasq; do sed -n "s/^bench:   $r: //p" "$dir/log" | tail -1 | awk '{print $10 + $11}'; done |
      awk 'NR == 1 {a = $1} NR == 2 {b = $1} END {if (a && b) printf "%.2f", a / b; else print "-"}')
    CELL[$i,ratio]+="${CELL[$i,ratio]:+<br>}$ratio"
  done
done

{
  echo "# dnsmasq's cache-miss cost: factors (bench/miss-factors.sh)"
  echo
  echo "Each cell: CPU µs per answered miss, server + its core's ksoftirqd (usr+sys), then the rate, lost"
  echo "queries, p99, the server's CPU and its core's busy time (all processes: more than the server's"
  echo "means another job shared the core), and the server's voluntary context switches per answered"
  echo "query (sleeps/q); one line per run (runs in turn: all settings, then again)."
  echo "Each run waited for a quiet host first (no core over $QUIET_PCT% busy for 2 s, at most $QUIET_WAIT s)."
  echo "$(date -Is), DURATION=$DURATION (fixed-rate runs), REPEAT=$REPEAT, load average now $(uptime | sed 's/.*load average: //')."
  echo "Every run: bench/run.sh TESTS=miss, warm-up 20000 names, then unique names (closed loop: one pass over 100000)."
  echo
  printf '| # | setting | run.sh environment |'; for r in "${RES[@]}"; do printf ' %s |' "$r"; done; echo ' vrf-resolver / dnsmasq |'
  printf '| ---: | --- | --- |'; for _ in "${RES[@]}"; do printf ' ---: |'; done; echo ' ---: |'
  for i in "${!SETTINGS[@]}"; do
    printf '| %s | %s | `%s` |' $((i + 1)) "${SETTINGS[i]%%|*}" "${SETTINGS[i]#*|}"
    for r in "${RES[@]}"; do printf ' %s |' "${CELL[$i,$r]}"; done
    printf ' %s |\n' "${CELL[$i,ratio]}"
  done
} >"$OUT/miss-factors.md"
cat "$OUT/miss-factors.md"
