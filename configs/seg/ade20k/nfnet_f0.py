# Not a row of the paper's Table 9 (no published FCN figure): NFNet-F0 (configs/cls/imagenet/nfnet_f0_agc.py) in the
# same FCN, output stride 8 as the D8 ResNet. `_delete_` drops the base's ResNet-only keys; the heads read stage 4
# (3072 channels) and stage 3 (1536).
_base_ = '../_base_/ade20k.py'
model = dict(
    backbone=dict(_delete_=True, type='tricks.ExportedBackbone',
                  checkpoint='work_dirs/cls/imagenet/nfnet_f0_agc/backbone.pth', output_stride=8,
                  out_indices=(0, 1, 2, 3)),
    decode_head=dict(in_channels=3072),
    auxiliary_head=dict(in_channels=1536))
