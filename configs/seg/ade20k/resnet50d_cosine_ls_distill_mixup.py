# Table 9, "+ distill w/ mixup" (ImageNet top-1 79.29): paper pixAcc 78.72, mIoU 38.4. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50d_cosine_ls_distill_mixup.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls_distill_mixup/backbone.pth'))
