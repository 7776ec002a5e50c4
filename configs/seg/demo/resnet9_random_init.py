# The record runs' ResNet-9 (tricks.ResNet9 at a quarter width) in the demo FCN, randomly initialised: its last stage
# is at stride 8 already, FCN's output stride, so no dilation; the heads read layer3 and layer2.
_base_ = '../_base_/demo.py'
model = dict(
    backbone=dict(_delete_=True, type='tricks.ResNet9', width=0.25, out_indices=(0, 1, 2),
                  norm_cfg={{_base_.norm_cfg}}),
    decode_head=dict(in_channels=128, in_index=2),
    auxiliary_head=dict(in_channels=64, in_index=1))
