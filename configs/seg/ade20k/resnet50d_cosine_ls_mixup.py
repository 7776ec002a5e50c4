# Table 9, "+ mixup w/o distill" (ImageNet top-1 79.16): paper pixAcc 78.47, mIoU 37.99. The stock FCN
# (../_base_/ade20k.py) on the backbone exported from configs/cls/imagenet/resnet50d_cosine_ls_mixup.py.
_base_ = '../_base_/ade20k.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls_mixup/backbone.pth'))
