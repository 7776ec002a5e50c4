"""Export the backbone of a classification checkpoint for detection and segmentation.

    python tools/export_backbone.py work_dirs/cls/demo/resnet18d_cosine_ls/epoch_30.pth OUT_DIR

writes OUT_DIR/backbone.safetensors and OUT_DIR/backbone.pth (`{'state_dict': ..., 'meta': {'trick_card': ...}}`),
keys without the `backbone.` prefix, so det/seg configs load them with
`init_cfg=dict(type='Pretrained', checkpoint='OUT_DIR/backbone.pth')`. Files are written atomically.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

from backbones.checkpoint import atomic_write, load_checkpoint

PREFIX = 'backbone.'


def backbone_state(checkpoint: dict, source: str) -> dict:
    state = checkpoint.get('state_dict', checkpoint)
    weights = {k[len(PREFIX):]: v.contiguous() for k, v in state.items() if k.startswith(PREFIX)}
    if not weights:
        raise SystemExit(f'error: {source}: no "{PREFIX}*" weights in the checkpoint')
    return weights


def export(checkpoint_path: str, out_dir: str) -> dict:
    checkpoint = load_checkpoint(checkpoint_path)
    weights = backbone_state(checkpoint, checkpoint_path)
    card = checkpoint.get('meta', {}).get('trick_card', {})
    os.makedirs(out_dir, exist_ok=True)
    atomic_write(os.path.join(out_dir, 'backbone.safetensors'),
                  lambda p: save_file(weights, p, metadata={'trick_card': json.dumps(card)}))
    atomic_write(os.path.join(out_dir, 'backbone.pth'),
                  lambda p: torch.save({'state_dict': weights, 'meta': {'trick_card': card, 'source': checkpoint_path}},
                                       p))
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='a classification checkpoint (tools/train_cls.py)')
    parser.add_argument('out_dir', help='folder for backbone.safetensors and backbone.pth')
    args = parser.parse_args()
    weights = export(args.checkpoint, args.out_dir)
    print(f'{len(weights)} backbone tensors → {args.out_dir}/backbone.{{safetensors,pth}}')


if __name__ == '__main__':
    main()
