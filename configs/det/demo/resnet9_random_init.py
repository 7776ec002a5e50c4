# The record runs' ResNet-9 (tricks.ResNet9 at a quarter width: 16-32-64-128) in the demo detector, randomly
# initialised: its three stages (strides 2, 4, 8) feed the FPN, whose anchors and RoI levels follow them.
_base_ = '../_base_/demo.py'
model = dict(
    backbone=dict(_delete_=True, type='tricks.ResNet9', width=0.25, out_indices=(0, 1, 2), frozen_stages=1,
                  norm_eval=True),
    neck=dict(in_channels=[32, 64, 128]),
    rpn_head=dict(anchor_generator=dict(strides=[2, 4, 8, 16, 32])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[2, 4, 8, 16])))
