#!/usr/bin/env bash
# One short speed measurement on an accelerator machine (see docs/gpu-speed.md).
# Every figure goes to "$OUT/log"; each command has its own time limit so one slow
# setting cannot eat the others' time. Dry run on a CPU with tiny sizes:
#   OUT=/tmp/out DEVICE=cpu SIZE="-C 2 -N 1 --resolution 8" COMPARE="2,1,8" STEPS=1 benchmarks/gpu_speed.sh
set -uo pipefail
OUT=${OUT:?set OUT to the output folder}
DEVICE=${DEVICE:-cuda}
SIZE=${SIZE:--C 16 -N 5 --resolution 32}
COMPARE=${COMPARE:-16,5,32;8,1,8}
STEPS=${STEPS:-20}
LIMIT=${LIMIT:-120}
mkdir -p "$OUT"
if compgen -G ".gpu/wheels/*.whl" >/dev/null; then python3 -m pip install -q --no-deps .gpu/wheels/*.whl; fi
log() { echo "== $*" | tee -a "$OUT/log"; }
bench() {
  log "nasbench bench $SIZE $*"
  PYTHONUNBUFFERED=1 timeout "$LIMIT" nasbench bench --method darts $SIZE --device "$DEVICE" --steps "$STEPS" \
    --repeats 3 --eval-images 2048 "$@" 2>&1 | tee -a "$OUT/log"
}
{ python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
  nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null; } | tee -a "$OUT/log"
bench --stacked-seeds 4 --steps 5  # one seed's step, then 4 seeds as one stacked model (issue 10's ≤ 1.5× target)
bench --set space.options.cell=per_op
bench --amp
bench --amp --set search.channels_last=true
bench --method balenas --steps 5  # 3 forward+backward per arch step; STEPS=20 means 121 steps in all
bench --method pgnas --stacked-seeds 4 --steps 5
log "compare_reference.py ($COMPARE)"
PYTHONUNBUFFERED=1 timeout "$((2 * LIMIT))" python3 benchmarks/compare_reference.py --device "$DEVICE" \
  --configs "$COMPARE" --rounds 5 --steps "$STEPS" 2>&1 | tee -a "$OUT/log"
bench --amp --set search.compile=inductor  # last: compiling may take longer than LIMIT
