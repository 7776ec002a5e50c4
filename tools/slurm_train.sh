#!/usr/bin/env bash
# Train under Slurm, OpenMMLab's convention, for a cls, det or seg config:
#   GPUS=16 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train args]
# One task per GPU (GPUS in all, GPUS_PER_NODE a node); mmengine's slurm launcher reads the ranks from Slurm and
# meets at the first node (MASTER_PORT, default 29500). Run it from an environment made by tools/env.sh.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
# shellcheck disable=SC2086  # SRUN_ARGS holds several srun options
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
    python -u "$repo/tools/train.py" "$CONFIG" --launcher slurm "$@"
