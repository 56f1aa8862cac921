#!/bin/sh
# The GPU benchmarks in one go, from a folder bench/gpu/pack.sh wrote; needs python3 with CUDA
# PyTorch 2.x and NumPy, no Node.js, no network. Under 5 minutes on one GPU:
#   - generated vs hand-written samples/s (bench/torch-overhead.py), alternating rounds, medians:
#     the MNIST CNN and the CIFAR ResNet-18 at batch 256, with --variants (nnc's Adam as
#     foreach ops; nnc.BatchNorm via F.batch_norm) to size the causes of any overhead;
#   - the wall time of one MNIST epoch: python3 mnist_cnn.py --device cuda --epochs 1.
# Prints the table and writes results-DEVICE-TIME.json and .txt here.
#   sh run.sh                      # cuda, the defaults (5 rounds; 30 MNIST / 20 ResNet steps per side and round)
#   DEVICE=cpu ROUNDS=1 EXTRA="--steps 3 --resnet-steps 1 --resnet-batch 16" sh run.sh   # a smoke test without a GPU
set -eu
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
ROUNDS=${ROUNDS:-5}
EXTRA=${EXTRA:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
[ -f cifar_synth.npz ] || "$PY" make_data.py .
{
  echo "date: $STAMP; commit: $(cat COMMIT 2>/dev/null || echo unknown); host: $(uname -srm); nproc: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
  "$PY" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'numpy', numpy.__version__)"
  echo "command: $PY torch-overhead.py --build . --device $DEVICE --rounds $ROUNDS --variants --epoch $EXTRA"
  # shellcheck disable=SC2086
  timeout 285 "$PY" torch-overhead.py --build . --device "$DEVICE" --rounds "$ROUNDS" --variants --epoch $EXTRA --out "results-$DEVICE-$STAMP.json"
} 2>&1 | tee "results-$DEVICE-$STAMP.txt"
echo "wrote results-$DEVICE-$STAMP.txt and results-$DEVICE-$STAMP.json"
