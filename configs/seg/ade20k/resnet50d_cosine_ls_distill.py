# Table 9, + distill w/o mixup (top-1 78.67): paper pixAcc 78.97, mIoU 38.90.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls_distill/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
