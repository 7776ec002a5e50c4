# Table 9, + mixup w/o distill (top-1 79.16): paper pixAcc 78.47, mIoU 37.99.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls_mixup/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
