"""Export the backbone of a classification checkpoint for detection and segmentation.

    python tools/export_backbone.py work_dirs/cls/demo/resnet18d_cosine_ls/epoch_30.pth OUT_DIR

writes OUT_DIR/backbone.safetensors and OUT_DIR/backbone.pth (`{'state_dict': ..., 'meta': {'trick_card': ...}}`),
keys without the `backbone.` prefix, so det/seg configs load them with
`init_cfg=dict(type='Pretrained', checkpoint='OUT_DIR/backbone.pth')`. Files are written atomically.
"""

import argparse

from backbones.checkpoint import export_backbone
from backbones.errors import CheckpointError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='a classification checkpoint (tools/train_cls.py)')
    parser.add_argument('out_dir', help='folder for backbone.safetensors and backbone.pth')
    args = parser.parse_args()
    try:
        weights = export_backbone(args.checkpoint, args.out_dir)
    except CheckpointError as err:
        raise SystemExit(f'error: {err}') from None
    print(f'{len(weights)} backbone tensors → {args.out_dir}/backbone.{{safetensors,pth}}')


if __name__ == '__main__':
    main()
