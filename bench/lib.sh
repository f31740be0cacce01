# Shared by bench/run.sh and bench/soak.sh (sourced, not run). Before sourcing, set BENCH_NAME
# (the prefix of messages) and VRF_MAIN; after it, the caller's preflight uses these helpers.

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

require_root_and_cpus() { # server_cpu loadgen_cpu
  [[ $(id -u) -eq 0 ]] || die "run as root (taskset, /proc of the processes under test)"
  (( $(nproc) > $1 && $(nproc) > $2 )) || die "need CPUs $1 and $2"
  [[ -f $VRF_MAIN ]] || die "$VRF_MAIN not found: npm run build:ts"
}

require_free_ports() { # port...
  local p
  for p in "$@"; do
    if ss -Hlnu "sport = :$p" | grep -q . || ss -Hlnt "sport = :$p" | grep -q .; then
      die "port $p is in use (set PORT_BASE)"
    fi
  done
}

# A scratch folder in $TMP and every process started with start_bg are removed on exit.
PIDS=()
make_scratch() { # prefix
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}

# Starts a long-running process in the background pinned to a CPU; sets STARTED_PID.
start_bg() { # cpu logfile cmd...
  local cpu=$1 logf=$2; shift 2
  taskset -c "$cpu" "$@" >"$logf" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

wait_ready() { # addr port name
  for _ in $(seq 50); do
    if dig +time=1 +tries=1 +short @"$1" -p "$2" "$3" A 2>/dev/null | grep -q '^[0-9]'; then return 0; fi
    sleep 0.2
  done
  die "nothing answers $3 on $1:$2"
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
