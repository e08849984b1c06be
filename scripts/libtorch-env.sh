#!/usr/bin/env bash
# Builds and runs the project against another libtorch than Debian bookworm's 1.13 (CI's default).
#
#   scripts/libtorch-env.sh 2.6-cpu  -- npm test           # Debian trixie libtorch-dev 2.6
#   scripts/libtorch-env.sh 2.6-cuda -- npm test           # trixie libtorch-cuda-dev 2.6 (CUDA 12.4, NCCL)
#   scripts/libtorch-env.sh 2.6-cpu  -- node bin/videomae.mjs doctor
#   scripts/libtorch-env.sh 2.6-cpu  --shell               # an interactive shell in that environment
#
# Trixie's libtorch needs trixie's C library, so it lives in a trixie root made with debootstrap
# (the host stays bookworm): $VIDEOMAE_TRIXIE_DIR/<flavour> (default ~/.cache/videomae/trixie).
# The first call makes the root and installs the packages (several GB for the CUDA flavour, from
# the apt mirror this machine already uses); later calls reuse it. The repository is bind-mounted
# at the same path inside the root; the addon is built from a copy of native/ kept inside the root
# (so the host's native/build, built against 1.13, is never touched) and selected through
# VIDEOMAE_ADDON. Inside, `npm test` runs the suite without the host set-up step (the root has its
# own packages): the command `npm test` is mapped to `node scripts/run-tests.mjs`.
#
# Needs root (debootstrap, chroot, mount) and a mount namespace (unshare -m).
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

flavour="${1:-}"
case "$flavour" in
  # gloo's headers (c10d) come from the gloo build matching the libtorch: the CPU and CUDA builds
  # of gloo conflict with each other.
  2.6-cpu) packages=(libtorch-dev libgloo-dev) ;;
  2.6-cuda) packages=(libtorch-cuda-dev libgloo-cuda-dev libnccl-dev nvidia-cuda-toolkit) ;;
  -h | --help | "") usage; exit 0 ;;
  *) echo "libtorch-env: unknown flavour '$flavour' (2.6-cpu or 2.6-cuda)" >&2; exit 2 ;;
esac
shift
shell=0
if [[ "${1:-}" == "--shell" ]]; then shell=1; shift; fi
if [[ "${1:-}" == "--" ]]; then shift; fi
if [[ $shell == 0 && $# == 0 ]]; then echo "libtorch-env: give a command after --, or --shell" >&2; exit 2; fi
[[ $(id -u) == 0 ]] || { echo "libtorch-env: needs root (debootstrap/chroot/mount)" >&2; exit 2; }

repo="$(cd "$(dirname "$0")/.." && pwd)"
base="${VIDEOMAE_TRIXIE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/videomae/trixie}"
root="$base/$flavour"
mirror="${VIDEOMAE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What every flavour needs: a compiler, Node 20 with its headers and node-gyp, FFmpeg's libraries
# for the in-process decoder, gloo's headers for c10d, and the ffmpeg programs the tests use.
common=(build-essential python3 pkg-config nodejs npm libnode-dev node-gyp ffmpeg
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ca-certificates)

log() { echo "[libtorch-env $flavour] $*" >&2; }

if [[ ! -f "$root/.videomae-ready" ]]; then
  command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get install -y debootstrap >&2; }
  if [[ ! -x "$root/usr/bin/apt-get" ]]; then
    log "making a trixie root in $root (a few minutes)"
    mkdir -p "$root"
    debootstrap --variant=minbase --components=main,contrib,non-free trixie "$root" "$mirror" >&2
  fi
  log "installing ${common[*]} ${packages[*]}"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror trixie main contrib non-free non-free-firmware
EOF
  # nvidia-cuda-toolkit asks to accept its licence through debconf.
  if ! chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends ${common[*]} ${packages[*]}" >&2; then
    [[ "$flavour" == 2.6-cuda && -f "$root/var/lib/dpkg/info/nvidia-cudnn.postinst" ]] || exit 1
    # Debian's nvidia-cudnn downloads cuDNN from NVIDIA's servers while it is configured; from a
    # machine that reaches only the apt mirror that fails and leaves libtorch-cuda unconfigured.
    # Finish the configuration without it, and give the loader a stand-in libcudnn.so.9 (below).
    log "nvidia-cudnn could not download cuDNN (no route to NVIDIA); configuring without it"
    echo 'exit 0' > "$root/var/lib/dpkg/info/nvidia-cudnn.postinst"
    chroot "$root" dpkg --configure -a >&2
  fi
  if [[ "$flavour" == 2.6-cuda ]] && ! chroot "$root" ldconfig -p | grep -q 'libcudnn.so.9 '; then
    # A stand-in with every cuDNN entry point libtorch_cuda links (each returns status 1, "not
    # initialized"), versioned like the real one, so that libtorch — and our addon — load. It is
    # enough on a machine without a GPU, where nothing calls cuDNN; on a GPU machine use a real
    # CUDA libtorch (scripts/gpu-check.sh uses the pip wheel, which carries cuDNN).
    log "installing a stand-in libcudnn.so.9 (loader only; no cuDNN function works)"
    stub=/usr/local/lib/videomae-cudnn-stub
    chroot "$root" bash -c "set -e; mkdir -p $stub; cd $stub
      nm -D --undefined-only /usr/lib/x86_64-linux-gnu/libtorch_cuda.so | awk '{print \$2}' | grep -E '^cudnn' | sed 's/@.*//' | sort -u |
        sed 's/.*/int &(void) { return 1; }/' > cudnn_stub.c
      echo 'libcudnn.so.9 { global: *; };' > cudnn_stub.map
      gcc -shared -fPIC -O1 -Wl,-soname,libcudnn.so.9 -Wl,--version-script=cudnn_stub.map -o libcudnn.so.9 cudnn_stub.c
      echo $stub > /etc/ld.so.conf.d/videomae-cudnn-stub.conf; ldconfig" >&2
  fi
  touch "$root/.videomae-ready"
fi

# The command runs in a private mount namespace: /proc, /dev, /sys and the repository are bound
# into the root only for its lifetime.
inner=$(cat <<'EOS'
set -euo pipefail
mkdir -p "$ROOT$REPO" "$ROOT/proc" "$ROOT/dev" "$ROOT/sys" "$ROOT/tmp"
mount --bind "$REPO" "$ROOT$REPO"
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
mount --rbind /sys "$ROOT/sys"
[[ -e "$ROOT/etc/resolv.conf" ]] || cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
exec chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin TERM="${TERM:-dumb}" \
  CI="${CI:-}" VIDEOMAE_TEST_FILTER="${VIDEOMAE_TEST_FILTER:-}" FLAVOUR="$FLAVOUR" REPO="$REPO" \
  SHELLMODE="$SHELLMODE" bash -c '
set -euo pipefail
cd "$REPO"
# Build the addon from a copy of native/ inside the root.
build=/opt/videomae-native
mkdir -p "$build"
cp -a "$REPO/native/binding.gyp" "$REPO/native/config.mjs" "$build/"
rm -rf "$build/src.new" && cp -a "$REPO/native/src" "$build/src.new"
# Keep unchanged sources at their old mtimes so make recompiles only what changed.
if [[ -d "$build/src" ]] && diff -rq "$build/src" "$build/src.new" >/dev/null 2>&1; then rm -rf "$build/src.new"
else rm -rf "$build/src" && mv "$build/src.new" "$build/src"; fi
ln -sfn "$REPO/node_modules" "$build/node_modules"
export npm_config_node_gyp=/usr/share/nodejs/node-gyp/bin/node-gyp.js
[[ -f "$npm_config_node_gyp" ]] || npm_config_node_gyp=$(ls /usr/share/nodejs/node-gyp/bin/node-gyp.js /usr/lib/node_modules/node-gyp/bin/node-gyp.js 2>/dev/null | head -1)
VIDEOMAE_NATIVE_DIR="$build" node "$REPO/scripts/build-native.mjs" >&2
export VIDEOMAE_ADDON="$build/build/Release/videomae_native.node" VIDEOMAE_LIBTORCH_FLAVOUR="$FLAVOUR"
if [[ "$SHELLMODE" == 1 ]]; then exec bash -i; fi
if [[ "$1" == npm && "${2:-}" == test ]]; then shift 2; exec node scripts/run-tests.mjs "$@"; fi
exec "$@"
' bash "$@"
EOS
)
ROOT="$root" REPO="$repo" FLAVOUR="$flavour" SHELLMODE="$shell" exec unshare -m --propagation private bash -c "$inner" bash "$@"
