#!/usr/bin/env bash
# One short speed measurement on an accelerator machine (see docs/gpu-speed.md).
# Every figure goes to "$OUT/log"; each command has its own time limit so one slow
# setting cannot eat the others' time. Dry run on a CPU with tiny sizes (the CUDA-graph
# lines then end in their one-line "needs a CUDA device"):
#   OUT=/tmp/out DEVICE=cpu SIZE="-C 2 -N 1 --resolution 8" COMPARE="2,1,8" STEPS=1 E2E="4,1,4" benchmarks/gpu_speed.sh
set -uo pipefail
OUT=${OUT:?set OUT to the output folder}
DEVICE=${DEVICE:-cuda}
SIZE=${SIZE:--C 16 -N 5 --resolution 32}
COMPARE=${COMPARE:-16,5,32;8,1,8}
STEPS=${STEPS:-20}
LIMIT=${LIMIT:-120}
E2E=${E2E:-16,5,8}  # C,N,resolution of the end-to-end runs on synthetic data (8×8 at most)
KERNELS=${KERNELS:-16,5,32}  # C,N,resolution of the kernel profiles
# PARTS: which of bench_eager bench_graphs kernels compare_reference end_to_end compile to run (default: all but compile)
mkdir -p "$OUT"
if compgen -G ".gpu/wheels/*.whl" >/dev/null; then python3 -m pip install -q --no-deps .gpu/wheels/*.whl; fi
log() { echo "== $*" | tee -a "$OUT/log"; }
bench() {
  log "nasbench bench $SIZE $*"
  PYTHONUNBUFFERED=1 timeout "$LIMIT" nasbench bench --method darts $SIZE --device "$DEVICE" --steps "$STEPS" \
    --repeats 3 --eval-images 2048 "$@" 2>&1 | tee -a "$OUT/log"
}
compare() {
  log "compare_reference.py ($COMPARE) $*"
  PYTHONUNBUFFERED=1 timeout "$((2 * LIMIT))" python3 benchmarks/compare_reference.py --device "$DEVICE" \
    --configs "$COMPARE" --rounds 5 --steps "$STEPS" "$@" 2>&1 | tee -a "$OUT/log"
}
search() {  # wall time of a whole `nasbench run` (2 epochs of DARTS on synthetic images, NB201 look-up)
  IFS=, read -r C N R <<<"$E2E"
  local name=$1; shift
  log "nasbench run ($name): $*"
  local start=$SECONDS
  PYTHONUNBUFFERED=1 timeout "$LIMIT" nasbench run -m darts -d synthetic --set dataset.image_size="$R" \
    --set dataset.train_size=6400 --set space.options.C="$C" --set space.options.N="$N" --benchmark nb201 \
    --epochs 2 --device "$DEVICE" --results "$OUT/runs-$name" "$@" >"$OUT/run-$name.txt" 2>&1
  local rc=$?
  grep -E "^\| darts|^Error" "$OUT/run-$name.txt" | head -2 | tee -a "$OUT/log"
  log "wall time ($name): $((SECONDS - start)) s, exit $rc"
  rm -rf "$OUT/runs-$name"
}
{ python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
  nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null; } | tee -a "$OUT/log"
bench_eager() {
  bench --stacked-seeds 4 --steps 5  # one seed's step, then 4 seeds as one vmapped model (issue 10's ≤ 1.5× target)
  bench --method balenas --steps 5  # 3 forward+backward per arch step
  bench --method pgnas --stacked-seeds 4 --steps 5
  bench --set search.channels_last=true --steps 5  # eager channels-last: 7-8 % faster on CPUs; the default's open question
}
bench_graphs() {  # each step replayed from a CUDA graph (alone, and 4 or 8 seeds as one vmapped model)
  bench --set search.cuda_graphs=true --stacked-seeds 4
  bench --set search.cuda_graphs=true --stacked-seeds 8
  bench --set search.cuda_graphs=true --amp
  bench --set search.cuda_graphs=true --set search.channels_last=true
  bench --set search.cuda_graphs=true --set search.channels_last=true --set search.cudnn_benchmark=true
  bench --set search.cuda_graphs=true --set search.cudnn_benchmark=true --stacked-seeds 4  # what --stack-seeds auto stacks
}
kernels() {  # summed kernel time against the step's time: is the GPU busy the whole step?
  log "gpu_kernel_profile.py ($KERNELS)"
  PYTHONUNBUFFERED=1 timeout "$LIMIT" python3 benchmarks/gpu_kernel_profile.py --configs "$KERNELS" --stacked-seeds 1 \
    --set search.cuda_graphs=true --set search.channels_last=true --set search.cudnn_benchmark=true 2>&1 | tee -a "$OUT/log"
  PYTHONUNBUFFERED=1 timeout "$LIMIT" python3 benchmarks/gpu_kernel_profile.py --configs "$KERNELS" --stacked-seeds 4 \
    --set search.cuda_graphs=true --set search.cudnn_benchmark=true 2>&1 | tee -a "$OUT/log"
}
compare_reference() {
  compare --cuda-graphs --channels-last --cudnn-benchmark
  compare --cuda-graphs --channels-last
  compare --steps 5
}
end_to_end() {
  search one-seed --seeds 0
  search one-seed-graphs --seeds 0 --set search.cuda_graphs=true
  search four-seeds-stacked-graphs --seeds 0-3 --stack-seeds on --set search.cuda_graphs=true
  search four-seeds-alone-graphs --seeds 0-3 --set search.cuda_graphs=true  # auto: one after another with graphs
}
compile() {  # not by default: compiling the full supernet for the GPU outlasted 75 s before
  local LIMIT=$((4 * LIMIT))
  bench --set search.compile=inductor
}
for part in ${PARTS:-bench_eager bench_graphs kernels compare_reference end_to_end}; do "$part"; done
