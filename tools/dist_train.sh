#!/usr/bin/env bash
# Train on GPUS processes of this machine with torchrun, OpenMMLab's convention, for a cls, det or seg config:
#   bash tools/env.sh bash tools/dist_train.sh CONFIG GPUS [train args, e.g. --work-dir DIR --resume]
# Several machines: run it on each with the same MASTER_ADDR (the first machine) and PORT, NNODES machines in all, and
# NODE_RANK 0..NNODES-1; torchrun meets there (c10d rendezvous). Without GPUs the processes train with CPU DDP (gloo).
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$GPUS" "$repo/tools/train.py" "$CONFIG" --launcher pytorch "$@"
