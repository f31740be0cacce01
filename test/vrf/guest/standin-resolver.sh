#!/bin/bash
# A stand-in for `vrf-resolver run` that the lab can use before dist/main.js exists (or to
# check the lab itself: run.mjs --standin). It speaks the same CLI contract and prints the
# same "ready" line, but is dnsmasq underneath:
#   --vrf V              dnsmasq runs under `ip vrf exec V` (all its sockets in V)
#   --upstream-device D  dnsmasq's server=ADDR@D (SO_BINDTODEVICE on upstream sockets)
# Accepted and ignored: --log-level, --config.

set -u
vrf='' port=53 dev='' listens=() upstreams=()
[ "${1:-}" = run ] && shift
while [ $# -gt 0 ]; do
  case "$1" in
    --vrf) vrf=$2; shift 2 ;;
    --upstream) upstreams+=("$2"); shift 2 ;;
    --listen) listens+=("$2"); shift 2 ;;
    --port) port=$2; shift 2 ;;
    --upstream-device) dev=$2; shift 2 ;;
    --log-level|--config) shift 2 ;;
    --version) echo "standin 0"; exit 0 ;;
    *) echo "standin-resolver: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#listens[@]} -gt 0 ] || listens=(127.0.0.1 ::1)
args=(--keep-in-foreground --conf-file=/dev/null --user=root --pid-file= --no-resolv --no-hosts
  --no-poll --bind-interfaces --port="$port" --cache-size=1000 --log-facility=-)
for l in "${listens[@]}"; do args+=(--listen-address="$l"); done
for u in "${upstreams[@]}"; do args+=(--server="$u${dev:+@$dev}"); done
prefix=()
[ -n "$vrf" ] && prefix=(ip vrf exec "$vrf")

"${prefix[@]}" dnsmasq "${args[@]}" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
for _ in $(seq 1 200); do
  kill -0 $child 2>/dev/null || { wait $child; exit $?; }
  if [ "$(ss -Hlntu "sport = :$port" | wc -l)" -ge $((2 * ${#listens[@]})) ]; then
    echo '{"level":30,"msg":"ready","standin":true}'
    break
  fi
  sleep 0.2
done
wait $child
