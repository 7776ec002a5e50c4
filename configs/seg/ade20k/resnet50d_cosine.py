# Table 9, "+ cosine" (ImageNet top-1 77.91): paper pixAcc 79.25, mIoU 39.33. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50d_cosine.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine/backbone.pth'))
