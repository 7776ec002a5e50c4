"""Export the backbone of a classification checkpoint for detection and segmentation, with its model card.

    python tools/export_backbone.py work_dirs/cls/demo/resnet18d_cosine_ls/epoch_30.pth OUT_DIR [--hub-dir DIR]

writes, atomically, into OUT_DIR:
- backbone.safetensors and backbone.pth (`{'state_dict': ..., 'meta': {'backbone', 'trick_card', ...}}`), keys without
  the `backbone.` prefix: both formats, always (`--safetensors` asks for nothing more). det/seg configs load either
  with `backbone=dict(type='tricks.ExportedBackbone', checkpoint='OUT_DIR/backbone.pth', ...)` or
  `init_cfg=dict(type='Pretrained', checkpoint='OUT_DIR/backbone.pth')`;
- README.md, a model card in the Hugging Face layout, and config.json, the same facts as JSON: architecture,
  parameters and GMACs at 224 px, the recipe from the trick card, data, metrics, seed, precision, machine
  (`backbones/model_card.py`); what the checkpoint does not record is said so.

`--hub-dir DIR` also writes what `timm.models.save_for_hf(model, DIR, safe_serialization='both')` writes for the timm
model of this backbone (model.safetensors, pytorch_model.bin and config.json, in timm's key names), and the card as
README.md: the folder `huggingface_hub.upload_folder` would upload; nothing is uploaded. It loads with
`timm.create_model('local-dir:DIR', pretrained=True)`. Only for backbones timm has an architecture for: tricks.ResNet
variants b, c, d (resnet50, resnet50c, resnet50d, ...) and tricks.NFNet. Bad input is one line, `error: ...`, exit 1,
with nothing written.
"""

import argparse

from backbones.checkpoint import backbone_weights, export_backbone, load_checkpoint
from backbones.errors import UserError
from backbones.model_card import hub_model, write_hub_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='a classification checkpoint (tools/train_cls.py)')
    parser.add_argument('out_dir', help='folder for backbone.safetensors, backbone.pth, README.md and config.json')
    parser.add_argument('--safetensors', action='store_true', help='accepted; both formats are always written')
    parser.add_argument('--hub-dir', help="also write timm's Hub layout of the backbone here (no upload)")
    args = parser.parse_args()
    try:
        content = load_checkpoint(args.checkpoint)
        weights = backbone_weights(content, args.checkpoint)
        model = None
        if args.hub_dir:
            try:
                model = hub_model(content, weights)  # before anything is written
            except UserError as err:
                raise UserError(f'{args.checkpoint}: --hub-dir: {err}; nothing was written') from None
        export_backbone(args.checkpoint, args.out_dir, checkpoint=content)
        if model is not None:
            write_hub_dir(model, content, weights, args.hub_dir, args.checkpoint, args.out_dir)
    except UserError as err:
        raise SystemExit(f'error: {err}') from None
    print(f'{len(weights)} backbone tensors → {args.out_dir}/backbone.{{safetensors,pth}}, README.md, config.json')
    if model is not None:
        print(f"timm's layout ({type(model).__name__}) → {args.hub_dir}/model.safetensors, pytorch_model.bin, ...")


if __name__ == '__main__':
    main()
