#!/usr/bin/env bash
# Train under Slurm, OpenMMLab's convention, for a cls, det or seg config:
#   GPUS=16 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train args]
# One task per GPU (GPUS in all, GPUS_PER_NODE a node); the slurm launcher reads the ranks from Slurm and meets at
# the first node (MASTER_PORT, default 29500). Run it from an environment made by tools/env.sh.
#
# Preemption: Slurm sends SIGUSR1 STOP_AHEAD seconds (default 120) before the time limit; every rank finishes its
# step, rank 0 saves a checkpoint, and the run exits with status 75 (engine/preemption.py). Inside an sbatch job the
# job is then requeued (scontrol requeue; the job must be requeueable), and the requeued job (SLURM_RESTART_COUNT > 0)
# resumes from its work dir. Started from a login node (no job of its own), this script starts srun again with
# --resume instead.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
STOP_AHEAD=${STOP_AHEAD:-120}
PREEMPTED=75
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
resume=()
if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then resume=(--resume); fi
while :; do
    status=0
    # shellcheck disable=SC2086  # SRUN_ARGS holds several srun options
    srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
        --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 \
        --signal=USR1@"$STOP_AHEAD" $SRUN_ARGS \
        python -u "$repo/tools/train.py" "$CONFIG" --launcher slurm "${resume[@]}" "$@" || status=$?
    if [ "$status" -ne "$PREEMPTED" ]; then exit "$status"; fi
    if [ -n "${SLURM_JOB_ID:-}" ]; then
        echo "slurm_train.sh: stopped with a checkpoint; requeueing job $SLURM_JOB_ID, which resumes from it" >&2
        scontrol requeue "$SLURM_JOB_ID"
        exit 0
    fi
    echo "slurm_train.sh: stopped with a checkpoint; starting again with --resume" >&2
    resume=(--resume)
done
