#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no network and no Node.js into
# .gpu/ (git-ignored), small enough to travel with the working tree (≈ 40 MB):
#   node.xz                 this machine's node binary
#   node-prefix.tar.xz      its headers (include/node, for node-gyp --nodedir) and npm (which
#                           carries node-gyp), laid out as a prefix next to bin/node
#   node_modules.tar.xz     the runtime packages the suite and the CLI load (tsx + esbuild,
#                           node-addon-api, the ONNX protobuf code); onnxruntime and the browser
#                           test's packages stay behind (their tests are not run there)
# Then, for the device tool: carry ".gpu" and run `bash scripts/gpu-check.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin="$(command -v node)"
prefix="$(cd "$(dirname "$node_bin")/.." && pwd)"
[[ -f "$prefix/include/node/node_api.h" ]] || { echo "gpu-pack: no Node headers in $prefix/include/node" >&2; exit 1; }
npm_dir="$prefix/lib/node_modules/npm"
[[ -d "$npm_dir" ]] || { echo "gpu-pack: npm (with node-gyp) not found at $npm_dir" >&2; exit 1; }
mkdir -p .gpu
echo "[gpu-pack] node $(node --version) from $node_bin"
xz -T0 -6 -c "$node_bin" > .gpu/node.xz
tar -C "$prefix" -cJf .gpu/node-prefix.tar.xz include/node lib/node_modules/npm
mods=(tsx esbuild @esbuild node-addon-api @bufbuild onnx-buf)
tar -cJf .gpu/node_modules.tar.xz $(for m in "${mods[@]}"; do [[ -e "node_modules/$m" ]] && echo "node_modules/$m"; done)
du -ch .gpu/* | tail -1 | sed 's/^/[gpu-pack] total /'
