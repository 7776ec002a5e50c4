# Beyond Table 8: NFNet-F0 (arch dm_nfnet_f0) as the backbone of the same stock Faster R-CNN; the backbone of
# configs/cls/imagenet/nfnet_f0_agc.py. No paper mAP for this row (the NFNet paper reports no detection transfer).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/nfnet_f0_agc/backbone.pth'
# _delete_: the stock ResNet keys (depth, style, norm_eval, ...) mean nothing to an NF-net.
model = dict(
    backbone=dict(_delete_=True, type='tricks.NFNet', arch='dm_nfnet_f0', out_indices=(0, 1, 2, 3), frozen_stages=1,
                  init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[256, 512, 1536, 3072]))
