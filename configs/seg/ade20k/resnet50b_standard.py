# Table 9, "B-standard" (ImageNet top-1 76.14): paper pixAcc 78.08, mIoU 37.05. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50b_standard.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50b_standard/backbone.pth'))
