# Table 9, "D-ResNet" (ImageNet top-1 77.16): paper pixAcc 78.88, mIoU 38.88. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50d_efficient.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth'))
