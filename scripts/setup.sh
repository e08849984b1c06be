#!/usr/bin/env bash
# One-time (and idempotent) set-up, run before `npm test`, `npm run demo` and `npm run bench`:
#   1. system packages with apt when missing: libtorch-dev (+ libgloo-dev, the headers of c10d's
#      gloo backend for data-parallel training), ffmpeg, FFmpeg's development libraries (the
#      in-process video decoder: libavformat-dev libavcodec-dev libswscale-dev libavutil-dev),
#      the OpenMP OpenBLAS, g++/make, pkg-config
#   2. `npm ci` when node_modules is missing or older than package-lock.json
#   3. the native libtorch addon (only rebuilt when its sources change)
# Fast (< 1 s) when everything is in place. Options:
#   --with-python-torch   also install python3-torch and python3-av (the PyTorch and PyAV baselines
#                         of `npm run bench`)
# Environment:
#   LIBTORCH=<prefix>     use another libtorch >= 1.13 (<prefix>/include, <prefix>/lib) instead
#                         of Debian's libtorch-dev, e.g. the torch folder of a pip install
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is required (found $(node --version))"

# ---------------------------------------------------------------- 1. system packages
want=(ffmpeg libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config libopenblas0-openmp g++ make python3)
if [ -n "${LIBTORCH:-}" ]; then
  [ -d "$LIBTORCH/include/torch" ] && [ -d "$LIBTORCH/lib" ] ||
    die "LIBTORCH=$LIBTORCH does not look like a libtorch (need \$LIBTORCH/include/torch and \$LIBTORCH/lib)"
  say "using libtorch at LIBTORCH=$LIBTORCH"
else
  want+=(libtorch-dev libgloo-dev)
fi
for arg in "$@"; do
  case "$arg" in
    --with-python-torch) want+=(python3-torch python3-av) ;;
    --with-browser) with_browser=1 ;;
    *) die "unknown option $arg" ;;
  esac
done

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  # Not Debian/Ubuntu: we cannot check packages; the build below will say what is missing.
  command -v ffmpeg >/dev/null || say "warning: ffmpeg not found on PATH (video decoding needs it)"
fi

if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    die "missing packages: ${missing[*]}
  Not root and no password-less sudo, so I cannot install them. Run:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}
  then run this command again."
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages yourself: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists when they are missing or older than a day.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    "${sudo[@]}" apt-get update -q || say "warning: apt-get update failed; trying with the lists we have"
  fi
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed for: ${missing[*]} (see the apt output above)"
fi

# Debian's chromium, only for the browser test (test/export/web.test.ts, npm test passes
# --with-browser); when it cannot be installed that test skips and says why.
if [ "${with_browser:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
    sudo_b=(); [ "$(id -u)" -eq 0 ] || sudo_b=(sudo -n)
    say "installing chromium (browser test)"
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2>/dev/null | head -n 1)" ] || "${sudo_b[@]}" apt-get update -q || true
    DEBIAN_FRONTEND=noninteractive "${sudo_b[@]}" apt-get install -y -q --no-install-recommends chromium ||
      say "warning: apt-get could not install chromium; the browser test will be skipped"
  else
    say "warning: chromium missing and not installable here (not root, no password-less sudo); the browser test will be skipped"
  fi
fi

# ---------------------------------------------------------------- 2. npm dependencies
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# ---------------------------------------------------------------- 3. native addon
node scripts/build-native.mjs
say "ready"
