# Beyond Table 8: NFNet-F0 (configs/cls/imagenet/nfnet_f0_agc.py) as the backbone of the same stock Faster R-CNN.
# No paper mAP for this row (the NFNet paper reports no detection transfer). `_delete_`: the base's ResNet keys
# (norm_cfg, norm_eval) mean nothing to an NF-net; the neck reads its four stages.
_base_ = '../_base_/voc0712.py'
model = dict(
    backbone=dict(_delete_=True, type='tricks.ExportedBackbone',
                  checkpoint='work_dirs/cls/imagenet/nfnet_f0_agc/backbone.pth', out_indices=(0, 1, 2, 3),
                  frozen_stages=1),
    neck=dict(in_channels=[256, 512, 1536, 3072]))
