# Table 9, + distill w/ mixup (top-1 79.29): paper pixAcc 78.72, mIoU 38.40.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls_distill_mixup/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
