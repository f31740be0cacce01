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

# Installs Debian packages without letting their maintainer scripts start services. Debian's nsd
# is the case in point: its postinst runs `invoke-rc.d nsd start` (and deb-systemd-invoke start
# nsd.service), and /etc/nsd/nsd.conf as shipped listens on port 53 of every address. A
# /usr/sbin/policy-rc.d that exits 101 makes both refuse the start (invoke-rc.d(8)). If the host
# already has a policy-rc.d, it is left alone: when it denies the start (Docker images ship one
# that exits 101) the install goes ahead, else the bench stops and asks for a manual install.
# Without one, one is created for the apt-get run and removed after it, whatever apt-get returned.
install_without_starting() { # package...
  local made=0 rc=0
  if [[ -e /usr/sbin/policy-rc.d ]]; then
    /usr/sbin/policy-rc.d "$1" start >/dev/null 2>&1 || rc=$?
    (( rc == 101 )) || die "/usr/sbin/policy-rc.d would let $1's service start; install $* yourself"
    rc=0
  else
    printf '#!/bin/sh\n# written by vrf-resolver bench/lib.sh for one apt-get run; removed after it\nexit 101\n' \
      >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null || rc=$?
  (( made )) && rm -f /usr/sbin/policy-rc.d
  (( rc == 0 )) || die "apt-get install $* failed (apt-get update first?)"
}

# policy-rc.d stops the start, not the enabling: nsd's postinst also enables nsd.service
# (deb-systemd-helper) and its init script (update-rc.d defaults), so the next boot would start
# an nsd on port 53. Called only right after the bench itself installed the package.
disable_boot_start() { # service
  if command -v deb-systemd-helper >/dev/null; then deb-systemd-helper disable "$1.service" >/dev/null 2>&1 || true; fi
  if [[ -x /etc/init.d/$1 ]] && command -v update-rc.d >/dev/null; then update-rc.d "$1" disable >/dev/null 2>&1 || true; fi
}

# Starts NSD in the foreground (nsd -d: the main process stays the one started, and forks its
# xfrd and one server process, which inherit the CPU pinning) as the authoritative server of one
# zone, on addr@port only, with every file it writes in $TMP. Rate limiting is off: Debian builds
# NSD with --enable-ratelimit, whose default (200 q/s per source, every second reply a TC slip)
# would throttle a benchmark's one source. Sets STARTED_PID (the main process).
start_nsd() { # cpu addr port zone zonefile
  local cpu=$1 addr=$2 port=$3 zone=$4 zonefile=$5 conf=$TMP/nsd.conf
  mkdir -p "$TMP/nsd-xfr"
  cat >"$conf" <<EOF_NSD
server:
  ip-address: $addr@$port
  port: $port
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$TMP"
  database: ""
  zonelistfile: "$TMP/nsd.zonelist"
  pidfile: "$TMP/nsd.pid"
  xfrdfile: "$TMP/nsd.xfrd.state"
  xfrdir: "$TMP/nsd-xfr"
  logfile: "$TMP/nsd.log"
  verbosity: 1
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "$zone"
  zonefile: "$zonefile"
EOF_NSD
  nsd-checkconf "$conf" || die "nsd-checkconf $conf failed"
  start_bg "$cpu" "$TMP/nsd.out" nsd -d -c "$conf"
}

# Descendants of a process (children, grandchildren...), one pid a line.
descendants() { # pid
  local c
  for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done
}

# utime and stime of a process in clock ticks, all its threads, plus those of its descendants
# (NSD answers from a server process its main process forks, from a forked child; node, dnsmasq
# and unbound have none while serving).
cpu_ticks() { # pid
  local p u=0 s=0 a b
  for p in "$1" $( (( $1 > 1 )) && descendants "$1"); do
    # fields 14 and 15 of /proc/PID/stat, counted after the command name, which may hold spaces
    # (NSD names its processes "nsd: main", "nsd: xfrd", "nsd: server 1")
    read -r a b < <(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12, $13}' || echo 0 0)
    u=$((u + ${a:-0})); s=$((s + ${b:-0}))
  done
  echo "$u $s"
}
