#!/bin/bash
# Builds the Debian package vrf-resolver_VERSION_ARCH.deb from this checkout (after `npm ci`):
#
#   npm run deb                       -> build/deb/vrf-resolver_VERSION_ARCH.deb
#   npm run deb -- --out-dir DIR      -> DIR/vrf-resolver_VERSION_ARCH.deb
#
# Offline: it uses what `npm ci` put in node_modules (TypeScript, cmake-js, the Node-API
# headers of node-api-headers, the runtime dependencies) and the host's g++, cmake, dpkg-dev.
# Nothing is downloaded and nothing in the checkout changes: the program is compiled into a
# staging tree in a temporary directory, the native helper is built there with Debian's
# hardening flags, and `dpkg-deb --root-owner-group --build` packs the tree.
#
# Why dpkg-deb and not debhelper: debhelper wants a source package (a debian/ directory at the
# top of the tree, which the project's layout does not have) and knows neither npm nor cmake-js;
# its helpers would each replace a few lines here (dh_installsystemd: the maintainer scripts in
# this directory, written as it writes them; dh_strip, dh_compress, dh_md5sums; dh_shlibdeps:
# dpkg-shlibdeps, called below as it calls it). A binary package built straight from the npm
# build is simpler to follow and needs only dpkg-dev.
#
# The layout (the README's "Packaging" section has the reasons):
#   /usr/lib/vrf-resolver/{package.json,dist/,node_modules/,build/native/Release/vrf_socket.node}
#   /usr/bin/vrf-resolver -> ../lib/vrf-resolver/dist/main.js
#   /usr/lib/systemd/system/   the units of systemd/, /usr/local/bin -> /usr/bin (one source:
#                              systemd/install.sh installs the same files into /usr/local)
#   /etc/vrf-resolver/vrf-resolver.conf.example   every key, commented (a conffile)
#   /usr/share/man/man8/vrf-resolver.8.gz, man5/vrf-resolver.conf.5.gz   from the command table
#                              and the config schema, rendered here from the staged program
#   /usr/share/doc/vrf-resolver/{README.md.gz,changelog.gz,copyright,examples/}
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
OUT_DIR=$SRC/build/deb
while [ $# -gt 0 ]; do
  case $1 in
    --out-dir) OUT_DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { printf 'deb: %s\n' "$*"; }
die() { printf 'deb: %s\n' "$*" >&2; exit 1; }

for tool in node dpkg-deb dpkg-shlibdeps dpkg-parsechangelog dpkg-buildflags cmake g++ gzip strip; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install nodejs dpkg-dev cmake g++ binutils)"
done
[ -x "$SRC/node_modules/.bin/cmake-js" ] && [ -f "$SRC/node_modules/typescript/bin/tsc" ] ||
  die "node_modules is incomplete: run npm ci in $SRC first"

PKG=vrf-resolver
VERSION=$(node -p "require('$SRC/package.json').version")
ARCH=$(dpkg --print-architecture)
# Every date in the package (file times, man pages) is the last commit's, so a rebuild of the
# same commit gives the same files (reproducible-builds.org's SOURCE_DATE_EPOCH).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

CHANGELOG_VERSION=$(dpkg-parsechangelog -l "$HERE/changelog" -S Version)
[ "$CHANGELOG_VERSION" = "$VERSION" ] ||
  die "systemd/deb/changelog starts with $CHANGELOG_VERSION, package.json says $VERSION: add a changelog entry"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vrf-resolver-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
LIB=$ROOT/usr/lib/$PKG
DOC=$ROOT/usr/share/doc/$PKG
mkdir -p "$LIB" "$DOC" "$ROOT/DEBIAN"

# 1. The program: TypeScript compiled into the staging tree (no source maps: their paths point
#    at a checkout that is not there).
say "tsc -> $PKG/dist"
node "$SRC/node_modules/typescript/bin/tsc" -p "$SRC/tsconfig.json" --outDir "$LIB/dist" --sourceMap false
cp "$SRC/package.json" "$LIB/" # packageRoot() and --version read it

# 2. The native helper, for this architecture, with Debian's hardening flags (bindnow, relro,
#    fortify, stack protector: what lintian's hardening checks look for), stripped.
say "native helper (cmake-js, Node-API $(node -p "require('$SRC/native/package.json').binary.napi_versions.join(' ')"))"
NATIVE_OUT=$WORK/native
(
  cd "$SRC"
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  # cmake-js sets CMAKE_CXX_FLAGS itself: the flags go into the Release configuration's, after
  # the project's own -O3 (-g and -O2 left out: the helper is stripped, -O3 stays).
  hardening=$(dpkg-buildflags --get CXXFLAGS | sed -e 's/-g\b//' -e 's/-O2\b//')
  node_modules/.bin/cmake-js compile --directory native --out "$NATIVE_OUT" \
    --CDCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG $hardening $(dpkg-buildflags --get CPPFLAGS)" \
    --CDCMAKE_SHARED_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" --CDCMAKE_VERBOSE_MAKEFILE=ON >"$WORK/native.log" 2>&1
  grep -q -- '-fstack-protector-strong.*-c .*socket\.cc' "$WORK/native.log" || { echo "deb: the hardening flags did not reach the compiler" >&2; exit 1; }
) || { tail -n 40 "$WORK/native.log" >&2; die "the native build failed"; }
mkdir -p "$LIB/build/native/Release"
install -m 0644 "$NATIVE_OUT/Release/vrf_socket.node" "$LIB/build/native/Release/vrf_socket.node"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$LIB/build/native/Release/vrf_socket.node"

# 3. The runtime dependencies: the checkout's node_modules pruned to package.json's
#    "dependencies" (offline; lifecycle scripts off), as systemd/install.sh does.
say "runtime dependencies (npm prune --omit=dev)"
mkdir -p "$WORK/prod"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/node_modules" "$WORK/prod/"
(cd "$WORK/prod" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund >/dev/null) ||
  die "npm prune failed"
NM=$WORK/prod/node_modules
# Not needed to run the program, and what lintian finds in them (scripts without their x bit,
# web pages loading scripts from CDNs, VCS files): npm's bookkeeping and CLI links; each
# package's tests, benchmarks, examples, docs and CI files, at the top of the package only;
# README and change logs; pages of examples.
# node-addon-api is in "dependencies" but is C++ headers for the native build: nothing loads it.
# pino's CLI (bin.js) is not linked anywhere. The license files go too: debian/copyright
# carries every holder line and the full text of every license, as Debian's own Node packages do.
# (npm's and tools' dot-entries: .bin, .package-lock.json, .cache, vite's .vite and .vite-temp.)
find "$NM" -mindepth 1 -maxdepth 1 -name '.*' -exec rm -rf {} +
rm -rf "$NM/node-addon-api" "$NM/pino/bin.js"
find "$NM" -regextype posix-extended -mindepth 2 \
  -regex "$NM/(@[^/]+/)?[^/]+/(test|tests|__tests__|benchmarks?|examples?|docs?|\.github|\.husky|\.vscode)" -prune -exec rm -rf {} +
find "$NM" -regextype posix-extended -type f \
  -iregex "$NM/(@[^/]+/)?[^/]+/((readme|changelog|history|security|contributing|code_of_conduct)(\.[a-z]+)?|[a-z_-]*\.html|\.git[a-z]*|\.npmignore|\.eslintrc.*|\.editorconfig|\.taprc|\.travis\.yml|\.prettierrc.*|inc-version\.sh)" \
  -delete
# debian/copyright from the packages as they are, before their license files go.
node "$HERE/copyright.mjs" "$SRC" "$NM" >"$WORK/copyright"
find "$NM" -regextype posix-extended -type f -iregex "$NM/(@[^/]+/)?[^/]+/(licen[cs]e|copying)(\.(md|txt))?" -delete
find "$NM" -depth -type d -empty -delete
mv "$NM" "$LIB/node_modules"

# 4. The command, the units, the example configuration, the documentation.
mkdir -p "$ROOT/usr/bin"
ln -s "../lib/$PKG/dist/main.js" "$ROOT/usr/bin/$PKG"
UNITDIR=$ROOT/usr/lib/systemd/system
mkdir -p "$UNITDIR"
for u in "$SRC"/systemd/*.service "$SRC"/systemd/*.socket; do
  # The units name install.sh's layout (/usr/local); the package's is /usr. Documentation=
  # points at the man page instead of the README's copy in /usr/local/lib.
  sed -e 's#/usr/local/bin/vrf-resolver#/usr/bin/vrf-resolver#g' \
      -e 's#^Documentation=file:///usr/local/lib/vrf-resolver/README.md$#Documentation=man:vrf-resolver(8) man:vrf-resolver.conf(5)#' \
      "$u" >"$UNITDIR/$(basename "$u")"
  if grep -n '/usr/local' "$UNITDIR/$(basename "$u")" >&2; then
    die "$(basename "$u") still names /usr/local after the rewrite: teach build.sh the new path"
  fi
done
mkdir -p "$ROOT/etc/$PKG" "$ROOT/usr/share/man/man8" "$ROOT/usr/share/man/man5" "$DOC/examples"
say "man pages and the example configuration (from the command table and the config schema)"
node "$HERE/render-docs.mjs" "$LIB/dist" "$VERSION" "$ROOT"
cp "$SRC/systemd/kernel-before-5.7.conf" "$DOC/examples/"
gzip -9n -c "$SRC/README.md" >"$DOC/README.md.gz"
gzip -9n -c "$HERE/changelog" >"$DOC/changelog.gz"
cp "$WORK/copyright" "$DOC/copyright"

# 5. DEBIAN/: control, conffiles, maintainer scripts, md5sums.
DEPENDS=$(
  cd "$WORK" && mkdir -p debian && printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PKG" "$PKG" >debian/control &&
    dpkg-shlibdeps -O -e"$LIB/build/native/Release/vrf_socket.node" 2>/dev/null | sed -n 's/^shlibs:Depends=//p'
)
[ -n "$DEPENDS" ] || die "dpkg-shlibdeps found no dependencies for vrf_socket.node"
NODE_MIN=$(node -p "require('$SRC/package.json').engines.node.replace(/^>=\s*/, '')")
for s in postinst prerm postrm; do install -m 0755 "$HERE/$s" "$ROOT/DEBIAN/$s"; done
echo "/etc/$PKG/$PKG.conf.example" >"$ROOT/DEBIAN/conffiles"

# The warnings lintian cannot be spared, each with its reason (README, "Packaging").
mkdir -p "$ROOT/usr/share/lintian/overrides"
cp "$HERE/lintian-overrides" "$ROOT/usr/share/lintian/overrides/$PKG"

# File modes as dpkg expects them (the checkout's umask must not leak into the package); a
# script of a dependency keeps its x bit when it has a #! line (none today).
find "$ROOT" -type d -exec chmod 0755 {} +
find "$ROOT" -type f ! -path "$ROOT/DEBIAN/*" -exec chmod 0644 {} +
chmod 0755 "$LIB/dist/main.js"
find "$LIB/node_modules" -type f -name '*.js' -print0 | while IFS= read -r -d '' f; do
  if [ "$(head -c2 "$f")" = '#!' ]; then chmod 0755 "$f"; fi
done
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f ! -path './etc/*' -print | sed 's#^\./##' | LC_ALL=C sort | xargs -d '\n' md5sum) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/conffiles"

# KiB as dpkg-gencontrol counts them: each file rounded up to a whole KiB, 1 per directory or link.
INSTALLED_SIZE=$(find "$ROOT" -path "$ROOT/DEBIAN" -prune -o -mindepth 1 \( -type f -printf '%s\n' -o -printf '1\n' \) |
  awk '{ kib += int(($1 + 1023) / 1024) } END { print kib }')
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" \
    -e "s/@NODE_MIN@/$NODE_MIN/" -e "s/@SHLIBS_DEPENDS@/$DEPENDS/" \
    "$HERE/control" >"$ROOT/DEBIAN/control"
chmod 0644 "$ROOT/DEBIAN/control"
if grep -n '@[A-Z_]*@' "$ROOT/DEBIAN/control" >&2; then die "control: a placeholder was left"; fi

find "$ROOT" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
mkdir -p "$OUT_DIR"
DEB=$OUT_DIR/${PKG}_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
say "built $DEB ($(du -k "$DEB" | cut -f1) KiB, installed $INSTALLED_SIZE KiB)"
echo "$DEB"
