#!/usr/bin/env bash
# Prints the path of Prometheus' own promtool, fetching it first if needed, so the tests can check
# our /metrics output with `promtool check metrics`. Debian's prometheus package is downloaded
# (never installed: it brings a service), and only usr/bin/promtool is kept, in
# .cache/promtool/promtool. CI calls this before `npm test`; the metrics tests call it too.
# Exit 0 with the path on stdout; non-zero with the reason on stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.cache/promtool"
bin="$dest/promtool"

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# apt-get download needs the package lists; refresh them only when the download fails without.
if ! apt-get download -qq prometheus >/dev/null 2>"$tmp/err"; then
  apt-get update -qq >/dev/null 2>>"$tmp/err" || true
  if ! apt-get download -qq prometheus >/dev/null 2>>"$tmp/err"; then
    echo "promtool.sh: apt-get download prometheus failed:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
fi
deb=$(ls prometheus_*.deb)
dpkg-deb -x "$deb" extracted
if [ ! -x extracted/usr/bin/promtool ]; then
  echo "promtool.sh: $deb has no usr/bin/promtool" >&2
  exit 1
fi
mkdir -p "$dest"
# Copy to a temporary name first: a concurrent caller never sees half a binary.
cp extracted/usr/bin/promtool "$dest/promtool.$$"
mv -f "$dest/promtool.$$" "$bin"
"$bin" --version >/dev/null
echo "$bin"
