#!/usr/bin/env bash
# The one prepared GPU check (≤ 8 min on one H100/H200): set up through tools/env.sh, timed (on a fresh GPU machine
# that builds mmcv with CUDA ops unless TRICKS_WHEEL_CACHE holds a CUDA wheel), then tools/gpu_check.py writes one
# JSON: the ResNet-50-D step in TF32 / AMP fp16 / bf16 / channels_last / compiled, the ResNet-9 record's time to 94 %,
# one det and one seg fp16 iteration, the paper ladder's rehearsal. docs/benchmarks.md quotes it.
#   bash tools/gpu_check.sh [--cifar10 DIR|TAR.GZ] [--out FILE]    # on the GPU machine: docs/gpu_check.json
#   bash tools/gpu_check.sh --dry-run [--out FILE]                 # CPU, tiny sizes (work_dirs/gpu_check/dry_run.json)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start_ns=$(date +%s%N)
bash "$repo/tools/env.sh" >/dev/null
setup_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
setup_s=$(printf '%d.%03d' $((setup_ms / 1000)) $((setup_ms % 1000)))
exec bash "$repo/tools/env.sh" python tools/gpu_check.py --setup-s "$setup_s" "$@"
