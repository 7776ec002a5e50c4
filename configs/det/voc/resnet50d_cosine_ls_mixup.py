# Table 8, "+ mixup w/o distill" (ImageNet top-1 79.16): paper mAP 81.1. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50d_cosine_ls_mixup.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls_mixup/backbone.pth'))
