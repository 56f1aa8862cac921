#!/bin/sh
# Packs bench/gpu/run.sh and everything it needs into one folder for a machine with CUDA
# PyTorch 2.x and python3, but no Node.js and no network:
#   - mnist_cnn.py (specs/mnist_cnn.nn) and resnet18_cifar.py (bench/gpu/resnet18_cifar.nn), as
#     `nnc build --target pytorch` writes them, with nnc_torch/ (the runtime), mnist.npz and
#     mnist_cnn.initial/ (the recipe's seed-42 weights, which `python3 mnist_cnn.py` starts from);
#   - resnet18_cifar.initial/model.json only: the benchmark trains it from seed 7 (the module's
#     own initialisers), so its 43 MiB weights.bin is left out (python3 resnet18_cifar.py
#     without --seed would need it);
#   - bench/torch-overhead.py, bench/torch_speed.py, make_data.py (run.sh writes the synthetic
#     CIFAR-size archive there, so it is not packed) and run.sh.
# About 21 MiB. Usage, from the repository root after `npm run build`:
#   sh bench/gpu/pack.sh [OUT_DIR]        (default /tmp/nnc-gpu-bench; OUT_DIR is replaced)
#   tar czf nnc-gpu-bench.tgz -C /tmp nnc-gpu-bench    # then on the GPU machine: sh run.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/nnc-gpu-bench}
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$ROOT"
node dist/nnc.mjs build specs/mnist_cnn.nn --target pytorch -o "$OUT" >/dev/null 2>&1
node dist/nnc.mjs build bench/gpu/resnet18_cifar.nn --target pytorch -o "$OUT" >/dev/null 2>&1
rm -f "$OUT/resnet18_cifar.initial/weights.bin"
rm -rf "$OUT/nnc_torch/__pycache__" "$OUT/nnc_torch/data/__pycache__"
cp bench/torch-overhead.py bench/torch_speed.py bench/gpu/make_data.py bench/gpu/run.sh "$OUT/"
git rev-parse --short HEAD > "$OUT/COMMIT" 2>/dev/null || true
du -sh "$OUT"
ls "$OUT"
