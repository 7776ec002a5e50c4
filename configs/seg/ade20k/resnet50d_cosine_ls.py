# Table 9, + label smoothing (top-1 78.34): paper pixAcc 78.64, mIoU 38.75.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
