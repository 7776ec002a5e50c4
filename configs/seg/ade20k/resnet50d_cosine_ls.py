# Table 9, "+ label smoothing" (ImageNet top-1 78.34): paper pixAcc 78.64, mIoU 38.75. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50d_cosine_ls.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls/backbone.pth'))
