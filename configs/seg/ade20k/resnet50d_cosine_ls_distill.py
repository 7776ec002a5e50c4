# Table 9, "+ distill w/o mixup" (ImageNet top-1 78.67): paper pixAcc 78.97, mIoU 38.9. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50d_cosine_ls_distill.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls_distill/backbone.pth'))
