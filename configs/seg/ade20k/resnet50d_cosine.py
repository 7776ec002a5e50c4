# Table 9, + cosine (top-1 77.91): paper pixAcc 79.25, mIoU 39.33.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
